// edgefed_codec_interop: the C++ half of the test that edgefed's files and a
// plain Python reader/writer (tests/python/) agree byte for byte.
//   write DIR   writes a model and one update per encoding, plus the exact
//               values they hold as raw little-endian float32 (*.f32), for
//               tests/python/codec_interop.py to check.
//   check DIR   reads the files codec_interop.py wrote and compares what
//               decode_model / decode_update give with its raw expectations,
//               bit for bit.
// Exit status 0 on success; failures are printed one per line.
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>

#include "codec_test_util.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/update_codec.hpp"

namespace fs = std::filesystem;
using namespace edgefed;

namespace {

int g_failures = 0;
void fail(const std::string& what) {
  std::cerr << "FAIL: " << what << "\n";
  ++g_failures;
}

void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) fail("cannot write " + p.string());
}
void write_floats(const fs::path& p, const std::vector<float>& v) {
  write_file(p, {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)});
}
std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("cannot read " + p.string());
  return {std::istreambuf_iterator<char>(in), {}};
}
std::vector<float> read_floats(const fs::path& p) {
  const std::string s = read_file(p);
  std::vector<float> v(s.size() / sizeof(float));
  std::memcpy(v.data(), s.data(), v.size() * sizeof(float));
  return v;
}

void expect_bits(const std::string& what, const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return fail(what + ": " + std::to_string(got.size()) + " values, want " +
                                             std::to_string(want.size()));
  for (size_t i = 0; i < got.size(); ++i)
    if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(want[i]))
      return fail(what + ": value " + std::to_string(i) + " is " + std::to_string(got[i]) + ", want " +
                  std::to_string(want[i]));
}

ModelLayout interop_layout() { return ModelLayout::mlp("mlp:7-5-3").value(); }

int write(const fs::path& dir) {
  fs::create_directories(dir);
  const auto layout = interop_layout();
  Model m = init_mlp(layout, 42);
  // Values a careless reader or writer would change: signed zero, subnormals,
  // the extremes of float32.
  const float special[] = {-0.0f, std::numeric_limits<float>::denorm_min(), -1e-40f,
                           std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()};
  for (size_t i = 0; i < std::size(special); ++i) m.params[i * 3] = special[i];
  write_file(dir / "edgefed_model.safetensors", encode_model(m, 5, {{"note", "interop"}}));
  write_floats(dir / "edgefed_model.f32", m.params);

  const auto delta = test::random_delta(static_cast<size_t>(layout.size()), 7, 3.0f);
  write_floats(dir / "edgefed_delta.f32", delta);
  UpdateMetadata meta;
  meta.agent_id = "agent-042";
  meta.update_id = "agent-042:1";
  meta.base_version = 5;
  meta.num_samples = 128;
  meta.train_loss = 0.6931471805599453;
  for (Encoding e : {Encoding::kF32, Encoding::kF16, Encoding::kInt8, Encoding::kTopK}) {
    auto file = encode_update(layout, delta, meta, {e, 0.1});
    if (!file) {
      fail(file.status().to_string());
      return 1;
    }
    write_file(dir / ("edgefed_update_" + std::string(enum_name(e)) + ".safetensors"), *file);
  }
  return g_failures ? 1 : 0;
}

std::span<const uint8_t> bytes_of(const std::string& s) { return test::bytes_of(s); }

int check(const fs::path& dir) {
  const auto layout = interop_layout();
  const std::string model_bytes = read_file(dir / "python_model.safetensors");
  auto model = decode_model(bytes_of(model_bytes), &layout);
  if (!model) {
    fail("decode_model(python_model): " + model.status().to_string());
  } else {
    expect_bits("python_model", model->model.params, read_floats(dir / "python_model.f32"));
    if (model->version != 9) fail("python_model version " + std::to_string(model->version) + ", want 9");
    if (model->metadata["writer"] != "write_safetensors.py") fail("python_model lost its metadata");
  }
  for (Encoding e : {Encoding::kF32, Encoding::kF16, Encoding::kInt8, Encoding::kTopK}) {
    const std::string name = "python_update_" + std::string(enum_name(e));
    const std::string bytes = read_file(dir / (name + ".safetensors"));
    auto u = decode_update(bytes_of(bytes), layout);
    if (!u) {
      fail("decode_update(" + name + "): " + u.status().to_string());
      continue;
    }
    expect_bits(name, u->delta, read_floats(dir / (name + ".f32")));
    if (u->meta.encoding != e || u->meta.agent_id != "py-agent" || u->meta.num_samples != 32)
      fail(name + ": metadata differs");
  }
  return g_failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "write" && std::string(argv[1]) != "check")) {
    std::cerr << "usage: edgefed_codec_interop write|check DIR\n";
    return 2;
  }
  const int rc = std::string(argv[1]) == "write" ? write(argv[2]) : check(argv[2]);
  std::cout << (rc == 0 ? "ok\n" : "FAILED\n");
  return rc;
}
