// Model updates (delta = local - global) on the wire: a safetensors file whose
// "__metadata__" holds the UpdateMetadata fields (see protocol.hpp) and whose
// tensors hold the delta in one of four encodings:
//   f32   tensors as in the layout, F32, exact.
//   f16   tensors as in the layout, F16; |error| <= 2^-11 |x| for
//         |x| >= 2^-14, <= 2^-25 below; |x| > 65504 cannot be encoded.
//   int8  tensors as in the layout, I8, value = q * scale with a per-tensor
//         scale = max|x| / 127 in metadata "scale.<tensor name>";
//         |error| <= scale / 2.
//   topk  two tensors "__topk_indices__" (I32, flat indices into the layout,
//         strictly increasing) and "__topk_values__" (F32): the k entries of
//         largest magnitude, exact; every dropped entry has |x| <= the
//         smallest kept magnitude.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/safetensors.hpp"
#include "edgefed/status.hpp"

namespace edgefed {

enum class Encoding { kF32, kF16, kInt8, kTopK };
std::string_view encoding_name(Encoding e);  // "f32", "f16", "int8", "topk"
Result<Encoding> parse_encoding(std::string_view name);

struct EncodeOptions {
  Encoding encoding = Encoding::kF32;
  double topk_fraction = 0.1;  // share of entries kept by topk, in (0, 1]
};

// REQUIRES: delta.size() == layout.size(). meta.encoding and
// meta.layout_fingerprint are filled in from options and layout.
// Fails with kNonFinite on NaN/Inf and kInvalidArgument when f16 overflows.
Result<std::string> encode_update(const ModelLayout& layout, std::span<const float> delta,
                                  UpdateMetadata meta, const EncodeOptions& options = {});

struct DecodedUpdate {
  UpdateMetadata meta;
  std::vector<float> delta;  // dense, layout.size() floats
};

// Parses, validates metadata (protocol rules), checks the layout fingerprint
// and every tensor shape against `layout` (kDimensionMismatch), rejects NaN/Inf
// (kNonFinite) and decodes to a dense delta.
Result<DecodedUpdate> decode_update(std::span<const uint8_t> bytes, const ModelLayout& layout,
                                    const SafetensorsLimits& limits = {});

}  // namespace edgefed
