#include <bit>
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "codec_test_util.hpp"
#include "edgefed/model_io.hpp"

using namespace edgefed;
using test::bytes_of;

namespace {

// A model whose values exercise every float class a codec could mangle.
Model tricky_model() {
  Model m = init_mlp(test::small_layout(), 42);
  const float special[] = {-0.0f, std::numeric_limits<float>::denorm_min(), -1e-40f,
                           std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(),
                           std::numeric_limits<float>::min(), 1.0f / 3.0f};
  for (size_t i = 0; i < std::size(special); ++i) m.params[i * 3] = special[i];
  return m;
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<uint32_t>(a[i]) != std::bit_cast<uint32_t>(b[i])) return false;
  return true;
}

}  // namespace

TEST_CASE("encode_model then decode_model is bit-exact", "[unit][model_io]") {
  const Model m = tricky_model();
  const std::string file = encode_model(m, 17, {{"note", "hello"}, {"version", "ignored"}});
  auto d = decode_model(bytes_of(file), &m.layout);
  REQUIRE(d.is_ok());
  CHECK(d->version == 17);
  CHECK(d->model.layout == m.layout);
  CHECK(d->model.layout.tensors().size() == m.layout.tensors().size());
  CHECK(bit_equal(d->model.params, m.params));
  CHECK(d->metadata.at("format") == "edgefed-model");
  CHECK(d->metadata.at("layout_fingerprint") == m.layout.fingerprint());
  CHECK(d->metadata.at("note") == "hello");
  CHECK(d->metadata.at("version") == "17");  // reserved keys win over extras
  SECTION("and encoding the decoded model again gives the same bytes") {
    CHECK(encode_model(d->model, d->version, {{"note", "hello"}}) == file);
  }
  SECTION("the input normalizer travels in the metadata") {
    CHECK(d->model.normalizer.empty());
    CHECK(d->metadata.count("normalizer") == 0);
    Model scaled = m;
    scaled.normalizer = R"({"mean":[0.5],"std":[3]})";
    auto back = decode_model(bytes_of(encode_model(scaled, 2)), &m.layout);
    REQUIRE(back.is_ok());
    CHECK(back->model.normalizer == scaled.normalizer);
    CHECK(back->metadata.at("normalizer") == scaled.normalizer);
  }
}

TEST_CASE("decode_model reads a plain file without edgefed metadata", "[unit][model_io]") {
  const std::string w = test::raw_values<float>({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f});
  const std::string file = write_safetensors({{"w", DType::kF32, {2, 3}, bytes_of(w)}}, {});
  auto d = decode_model(bytes_of(file));
  REQUIRE(d.is_ok());
  CHECK(d->version == 0);
  CHECK(d->model.params == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(d->model.layout.tensors()[0].shape == std::vector<int64_t>{2, 3});
}

TEST_CASE("decode_model refuses bad models with a clear error", "[unit][model_io][bad]") {
  const Model good = init_mlp(test::small_layout(), 1);
  const auto other = ModelLayout::mlp("mlp:7-6-3").value();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  auto with_value = [&](float v, size_t at) {
    Model m = good;
    m.params[at] = v;
    return encode_model(m, 1);
  };
  auto tampered_fingerprint = [&] {
    std::string f = encode_model(good, 1);
    const auto pos = f.find(good.layout.fingerprint());
    f.replace(pos, 16, "0123456789abcdef");
    return f;
  };
  const std::string half = test::raw_values<uint16_t>({0x3c00, 0x3c00});
  const std::string f16_file = write_safetensors({{"w", DType::kF16, {2}, bytes_of(half)}}, {});
  const std::string zero_dim = write_safetensors({{"w", DType::kF32, {0}, {}}}, {});

  auto [what, bytes, code, phrase] = GENERATE_COPY(table<std::string, std::string, Code, std::string>({
      {"NaN value", with_value(nan, 5), Code::kNonFinite, "holds NaN at index 5"},
      {"+Inf value", with_value(inf, 38), Code::kNonFinite, "'layers.0.bias' holds Inf at index 3"},
      {"-Inf value", with_value(-inf, 0), Code::kNonFinite, "holds Inf at index 0"},
      {"layout other than expected", encode_model(init_mlp(other, 1), 1), Code::kDimensionMismatch,
       "expected 7-5-3"},
      {"metadata fingerprint disagreeing with the tensors", tampered_fingerprint(), Code::kDimensionMismatch,
       "file says layout '0123456789abcdef'"},
      {"F16 tensor in a model", f16_file, Code::kInvalidArgument, "model files hold F32"},
      {"no tensors", write_safetensors({}, {}), Code::kInvalidArgument, "holds no tensors"},
      {"zero-sized tensor", zero_dim, Code::kInvalidArgument, "bad dimension"},
      {"bad version", encode_model(good, 1).replace(encode_model(good, 1).find("\"version\":\"1\""), 13,
                                                    "\"version\":\"x\""),
       Code::kInvalidArgument, "version 'x'"},
      {"empty file", "", Code::kInvalidArgument, "empty file"},
      {"truncated file", encode_model(good, 1).substr(0, 100), Code::kInvalidArgument, "larger than"},
  }));
  INFO(what);
  auto d = decode_model(bytes_of(bytes), &good.layout);
  REQUIRE_FALSE(d.is_ok());
  CHECK(d.status().code() == code);
  CHECK_THAT(d.status().message(), Catch::Contains(phrase));
}
