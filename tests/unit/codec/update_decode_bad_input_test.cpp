// Every way an update file can be wrong, as a table: a valid update is
// encoded, then one thing is changed (metadata, a tensor, the bytes), and
// decode_update must refuse it with the right Code and a clear message.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include <catch2/catch.hpp>

#include "codec_test_util.hpp"
#include "edgefed/update_codec.hpp"

using namespace edgefed;
using test::bytes_of;

namespace {

using Metadata = std::map<std::string, std::string>;

struct Editable {
  Metadata md;
  std::vector<std::string> names;
  std::vector<DType> dtypes;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::string> data;
};

// Encodes a valid update, lets `edit` change it, writes it again.
std::string edited(Encoding e, const std::function<void(Editable&)>& edit) {
  const auto layout = test::small_layout();
  UpdateMetadata m;
  m.agent_id = "agent-001";
  m.update_id = "u-1";
  m.base_version = 3;
  m.num_samples = 10;
  m.train_loss = 0.5;
  std::vector<float> delta = test::random_delta(static_cast<size_t>(layout.size()), 9);
  auto file = encode_update(layout, delta, m, {e, 0.2});
  REQUIRE(file.is_ok());
  auto parsed = parse_safetensors(bytes_of(*file));
  REQUIRE(parsed.is_ok());
  Editable x;
  x.md = parsed->metadata;
  for (const auto& t : parsed->tensors) {
    x.names.push_back(t.name);
    x.dtypes.push_back(t.dtype);
    x.shapes.push_back(t.shape);
    x.data.emplace_back(reinterpret_cast<const char*>(t.data.data()), t.data.size());
  }
  edit(x);
  std::vector<TensorOut> out;
  for (size_t i = 0; i < x.names.size(); ++i) out.push_back({x.names[i], x.dtypes[i], x.shapes[i], bytes_of(x.data[i])});
  return write_safetensors(out, x.md);
}

template <typename T>
void put(std::string& data, size_t i, T v) {
  std::memcpy(data.data() + i * sizeof(T), &v, sizeof(T));
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

}  // namespace

TEST_CASE("decode_update refuses each bad update with a clear error", "[unit][update_codec][bad]") {
  using E = Encoding;
  auto [what, bytes, code, phrase] = GENERATE(table<std::string, std::string, Code, std::string>({
      // Structure (details in safetensors_bad_input_test.cpp).
      {"empty file", "", Code::kInvalidArgument, "empty file"},
      {"truncated file",
       [] {
         const auto f = edited(E::kF32, [](Editable&) {});
         return f.substr(0, f.size() - 10);
       }(),
       Code::kInvalidArgument, "outside"},
      // Metadata.
      {"no metadata", edited(E::kF32, [](Editable& x) { x.md.clear(); }), Code::kInvalidArgument,
       "agent_id: is missing"},
      {"bad agent id", edited(E::kF32, [](Editable& x) { x.md["agent_id"] = "-x"; }), Code::kInvalidArgument,
       "agent_id"},
      {"negative base_version", edited(E::kF32, [](Editable& x) { x.md["base_version"] = "-1"; }),
       Code::kInvalidArgument, "base_version"},
      {"unknown encoding", edited(E::kF32, [](Editable& x) { x.md["encoding"] = "bf16"; }), Code::kInvalidArgument,
       "encoding"},
      {"layout fingerprint of another model",
       edited(E::kF32, [](Editable& x) { x.md["layout_fingerprint"] = "0123456789abcdef"; }),
       Code::kDimensionMismatch, "update is for layout 0123456789abcdef"},
      // Tensors against the layout.
      {"a tensor missing", edited(E::kF32, [](Editable& x) { x.names[1] = "other"; }), Code::kDimensionMismatch,
       "lacks tensor 'layers.0.bias'"},
      {"an extra tensor",
       edited(E::kF32,
              [](Editable& x) {
                x.names.push_back("extra");
                x.dtypes.push_back(DType::kF32);
                x.shapes.push_back({0});
                x.data.emplace_back();
              }),
       Code::kDimensionMismatch, "update has 5 tensors, the layout 4"},
      {"a tensor of another shape", edited(E::kF32, [](Editable& x) { x.shapes[0] = {7, 5}; }),
       Code::kDimensionMismatch, "has shape [7, 5], the layout says [5, 7]"},
      {"f32 metadata over F16 tensors",
       edited(E::kF16, [](Editable& x) { x.md["encoding"] = "f32"; }), Code::kInvalidArgument,
       "is F16 but encoding f32 stores F32"},
      // Values.
      {"NaN in f32", edited(E::kF32, [](Editable& x) { put(x.data[2], 4, kNaN); }), Code::kNonFinite,
       "tensor 'layers.1.weight' holds NaN at index 4"},
      {"Inf in f32", edited(E::kF32, [](Editable& x) { put(x.data[0], 0, -kInf); }), Code::kNonFinite,
       "holds Inf at index 0"},
      {"Inf in f16", edited(E::kF16, [](Editable& x) { put<uint16_t>(x.data[3], 1, 0x7c00); }), Code::kNonFinite,
       "tensor 'layers.1.bias' holds Inf at index 1"},
      {"NaN in f16", edited(E::kF16, [](Editable& x) { put<uint16_t>(x.data[3], 1, 0x7e01); }), Code::kNonFinite,
       "holds NaN"},
      {"int8 without its scale", edited(E::kInt8, [](Editable& x) { x.md.erase("scale.layers.0.bias"); }),
       Code::kInvalidArgument, "lacks metadata 'scale.layers.0.bias'"},
      {"int8 scale not a number", edited(E::kInt8, [](Editable& x) { x.md["scale.layers.0.bias"] = "0.1x"; }),
       Code::kInvalidArgument, "is not a number"},
      {"int8 scale NaN", edited(E::kInt8, [](Editable& x) { x.md["scale.layers.0.bias"] = "nan"; }),
       Code::kNonFinite, "is not finite"},
      {"int8 scale negative", edited(E::kInt8, [](Editable& x) { x.md["scale.layers.0.bias"] = "-0.5"; }),
       Code::kInvalidArgument, "negative"},
      {"int8 scale that overflows", edited(E::kInt8, [](Editable& x) { x.md["scale.layers.0.bias"] = "3e38"; }),
       Code::kNonFinite, "holds Inf"},
      {"topk index out of range",
       edited(E::kTopK, [](Editable& x) { put<int32_t>(x.data[0], x.data[0].size() / 4 - 1, 58); }),
       Code::kInvalidArgument, "is outside the layout"},
      {"topk negative index", edited(E::kTopK, [](Editable& x) { put<int32_t>(x.data[0], 0, -1); }),
       Code::kInvalidArgument, "is outside the layout"},
      {"topk indices not increasing",
       edited(E::kTopK,
              [](Editable& x) {
                int32_t first;
                std::memcpy(&first, x.data[0].data(), 4);
                put<int32_t>(x.data[0], 1, first);
              }),
       Code::kInvalidArgument, "__topk_indices__[1]"},
      {"topk NaN value", edited(E::kTopK, [](Editable& x) { put(x.data[1], 2, kNaN); }), Code::kNonFinite,
       "'__topk_values__' holds NaN at index 2"},
      {"topk lengths differ", edited(E::kTopK, [](Editable& x) { x.shapes[1] = {1}; x.data[1].resize(4); }),
       Code::kInvalidArgument, "must both have shape [k]"},
      {"topk without values", edited(E::kTopK, [](Editable& x) { x.names[1] = "values"; }),
       Code::kInvalidArgument, "exactly the tensors"},
      {"topk keeping more entries than the layout has",
       edited(E::kTopK,
              [](Editable& x) {
                x.shapes = {{59}, {59}};
                x.data = {std::string(59 * 4, '\0'), std::string(59 * 4, '\0')};
              }),
       Code::kDimensionMismatch, "keeps 59 entries of a 58-parameter layout"},
      {"topk indices as F32", edited(E::kTopK, [](Editable& x) { x.dtypes[0] = DType::kF32; }),
       Code::kInvalidArgument, "is F32 but encoding topk stores I32"},
  }));
  INFO(what);
  auto d = decode_update(bytes_of(bytes), test::small_layout());
  REQUIRE_FALSE(d.is_ok());
  CHECK(d.status().code() == code);
  CHECK_THAT(d.status().message(), Catch::Contains(phrase));
}
