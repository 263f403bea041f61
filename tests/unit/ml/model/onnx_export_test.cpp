// ml::export_onnx and its protobuf writer. What the exported files mean is
// checked by the ONNX project's checker and by ONNX Runtime
// (tests/python/onnx_check.py, tests/onnx/run_onnx.mjs); these tests pin the
// wire encoding and the refusals.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/onnx_export.hpp"
#include "export/proto_writer.hpp"

using namespace edgefed;
using namespace edgefed::ml;

namespace {

std::string hex_of(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

}  // namespace

TEST_CASE("protobuf writer: varints, floats and length-delimited fields as the wire format defines them",
          "[onnx]") {
  ProtoWriter w;
  w.varint(1, 150);  // the protobuf documentation's example: 08 96 01
  CHECK(hex_of(w.data()) == "089601");
  ProtoWriter neg;
  neg.varint(3, -1);  // int64 -1: ten bytes
  CHECK(hex_of(neg.data()) == "18ffffffffffffffffff01");
  ProtoWriter f;
  f.float32(2, 1.0f);  // tag 0x15, then 00 00 80 3f
  CHECK(hex_of(f.data()) == "150000803f");
  ProtoWriter b;
  b.bytes(2, "testing");  // 12 07 74 65 73 74 69 6e 67
  CHECK(hex_of(b.data()) == "120774657374696e67");
  ProtoWriter outer;
  outer.message(3, w);
  CHECK(hex_of(outer.data()) == "1a03089601");
  ProtoWriter big;
  big.varint(20, 7);  // a field number above 15 takes a two-byte tag
  CHECK(hex_of(big.data()) == "a00107");
}

TEST_CASE("ONNX export refuses a model whose tensors are not its spec's, and carries the spec and names",
          "[onnx]") {
  auto spec = ModelSpec::preset("cnn-fmnist");
  REQUIRE(spec);
  auto other = ModelSpec::preset("mlp:784-32-10");
  REQUIRE(other);
  const Model wrong = other->init(1);
  auto refused = export_onnx(*spec, wrong);
  REQUIRE_FALSE(refused);
  CHECK(refused.status().code() == Code::kInvalidArgument);
  CHECK(refused.status().message().find("not those of its spec") != std::string::npos);

  Model model = spec->init(1);
  model.normalizer = R"({"mean":[0.5],"std":[0.25]})";
  auto onnx = export_onnx(*spec, model, {"9.9.9", 42, "g"});
  REQUIRE(onnx);
  const std::string& bytes = *onnx;
  // Every parameter is in there as raw float32 (plus the protobuf framing),
  // under PyTorch's names, and the metadata carries the spec and normalizer.
  CHECK(bytes.size() > static_cast<size_t>(spec->num_params()) * 4);
  const ModelLayout layout = spec->layout();
  for (const auto& t : layout.tensors()) CHECK(bytes.find(t.name) != std::string::npos);
  CHECK(bytes.find(spec->canonical_json()) != std::string::npos);
  CHECK(bytes.find(model.normalizer) != std::string::npos);
  CHECK(bytes.find("edgefed.task") != std::string::npos);
  CHECK(bytes.find("probabilities") != std::string::npos);
  // The first tensor's values appear verbatim (little-endian float32).
  const auto w0 = model.tensor(0);
  CHECK(bytes.find(std::string(reinterpret_cast<const char*>(w0.data()), w0.size() * 4)) != std::string::npos);
  // A regression model has no probabilities output.
  auto forecast = ModelSpec::preset("forecast-cnn1d");
  REQUIRE(forecast);
  auto reg = export_onnx(*forecast, forecast->init(2));
  REQUIRE(reg);
  CHECK(reg->find("probabilities") == std::string::npos);
}
