// edgefed_fuzz_seeds DIR: writes the seed corpora DIR/fuzz_safetensors/ and
// DIR/fuzz_update_decode/ (committed under tests/fuzz/corpus/). Valid files
// of every kind, so mutations start from deep inside the parser, plus a few
// broken ones so each error path is a mutation away.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "edgefed/model_io.hpp"
#include "edgefed/update_codec.hpp"
#include "fuzz_common.hpp"

namespace fs = std::filesystem;
using namespace edgefed;

namespace {

void put(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(uint64_t n) {
  std::string s;
  for (int i = 0; i < 8; ++i, n >>= 8) s.push_back(static_cast<char>(n & 0xff));
  return s;
}

std::string raw(const std::string& header, const std::string& data = "") { return le64(header.size()) + header + data; }

std::vector<float> delta(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * 1.7f) * std::pow(0.7f, static_cast<float>(i % 9));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: edgefed_fuzz_seeds DIR\n";
    return 2;
  }
  const fs::path st = fs::path(argv[1]) / "fuzz_safetensors";
  const fs::path up = fs::path(argv[1]) / "fuzz_update_decode";
  fs::create_directories(st);
  fs::create_directories(up);
  const ModelLayout& layout = fuzz::fuzz_layout();

  // Models and plain files.
  const Model model = init_mlp(layout, 5);
  const std::string model_file = encode_model(model, 3, {{"note", "seed"}});
  put(st / "model.safetensors", model_file);
  const std::string f32 = std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  const std::string mixed = std::string(8, '\x01') + std::string(4, '\x02') + std::string(2, '\x03') + "\x04";
  put(st / "all_dtypes.safetensors",
      raw(R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
          R"("b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"c":{"dtype":"F16","shape":[1],"data_offsets":[12,14]},)"
          R"("d":{"dtype":"I8","shape":[1,1],"data_offsets":[14,15]}})",
          mixed));
  put(st / "empty_header.safetensors", raw("{}"));
  put(st / "scalar_and_empty.safetensors",
      raw(R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})"
          "   ",
          f32.substr(0, 4)));
  // Broken ones.
  put(st / "truncated.safetensors", model_file.substr(0, model_file.size() - 5));
  put(st / "overlap.safetensors",
      raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32));
  put(st / "bad_dtype.safetensors", raw(R"({"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", f32));
  put(st / "not_utf8.safetensors", raw("{\"\xff\xfe\":{}}"));
  put(st / "huge_length.safetensors", le64(100ull << 20) + "{}");
  Model nan_model = model;
  nan_model.params[2] = std::numeric_limits<float>::quiet_NaN();
  put(st / "nan_model.safetensors", encode_model(nan_model, 1));

  // Updates, one per encoding; they seed both targets.
  UpdateMetadata meta;
  meta.agent_id = "agent-001";
  meta.update_id = "agent-001:7";
  meta.base_version = 2;
  meta.num_samples = 64;
  meta.train_loss = 0.75;
  const auto d = delta(static_cast<size_t>(layout.size()));
  for (Encoding e : {Encoding::kF32, Encoding::kF16, Encoding::kInt8, Encoding::kTopK}) {
    const std::string bytes = encode_update(layout, d, meta, {e, 0.25}).value();
    const std::string name = "update_" + std::string(enum_name(e)) + ".safetensors";
    put(up / name, bytes);
    put(st / name, bytes);
  }
  std::string nan_update = encode_update(layout, d, meta, {Encoding::kF32}).value();
  nan_update.replace(nan_update.size() - 4, 4, std::string("\x00\x00\xc0\x7f", 4));  // last value NaN
  put(up / "update_nan.safetensors", nan_update);
  put(up / "update_other_layout.safetensors",
      encode_update(ModelLayout::mlp("mlp:4-2").value(), std::vector<float>(10, 0.5f), meta, {}).value());
  return 0;
}
