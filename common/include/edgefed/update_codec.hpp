// Model updates (delta = local - global) on the wire: a safetensors file whose
// "__metadata__" holds the UpdateMetadata fields (see protocol.hpp) plus
// "format"="edgefed-update", and whose tensors hold the delta in one of four
// encodings (prose and examples: docs/formats/safetensors.md):
//   f32   tensors as in the layout, F32, exact.
//   f16   tensors as in the layout, F16 (round to nearest even, as numpy's
//         astype(float16)); |error| <= 2^-11 |x| for |x| >= 2^-14, <= 2^-25
//         below; |x| > 65504 cannot be encoded.
//   int8  tensors as in the layout, I8, value = q * scale with a per-tensor
//         scale ~= max|x| / 127 in metadata "scale.<tensor name>" (shortest
//         decimal that reads back as the same float32; nudged by an ulp
//         where needed so that no q is clamped and q * scale stays finite);
//         q = round(x / scale) in [-127, 127]; |error| <= scale / 2, plus
//         the float32 rounding of q * scale (2^-24 relative).
//   topk  two tensors "__topk_indices__" (I32, flat indices into the layout,
//         strictly increasing) and "__topk_values__" (F32): the k entries of
//         largest magnitude, exact; every dropped entry has |x| <= the
//         smallest kept magnitude. k = round(topk_fraction x n) clamped to
//         [1, n]; equal magnitudes are kept lowest index first. Layouts of
//         more than 2^31 - 1 parameters cannot use topk.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/safetensors.hpp"
#include "edgefed/status.hpp"

namespace edgefed {

// Encoding and its names (f32, f16, int8, topk) are in protocol.hpp.
struct EncodeOptions {
  Encoding encoding = Encoding::kF32;
  double topk_fraction = 0.1;  // share of entries kept by topk, in (0, 1]
};

// REQUIRES: delta.size() == layout.size(). meta.encoding and
// meta.layout_fingerprint are filled in from options and layout.
// Fails with kNonFinite on NaN/Inf and kInvalidArgument when f16 overflows,
// when meta would not pass parse_update_metadata (what decode_update would
// refuse is never written) or topk_fraction is outside (0, 1];
// kDimensionMismatch if delta.size() != layout.size().
Result<std::string> encode_update(const ModelLayout& layout, std::span<const float> delta,
                                  UpdateMetadata meta, const EncodeOptions& options = {});

struct DecodedUpdate {
  UpdateMetadata meta;
  std::vector<float> delta;  // dense, layout.size() floats
};

// Parses, validates metadata (protocol rules), checks the layout fingerprint
// and every tensor shape against `layout` (kDimensionMismatch), rejects NaN/Inf
// (kNonFinite) and decodes to a dense delta.
// Errors: parse_safetensors's; kInvalidArgument for bad metadata, a dtype
// that is not the encoding's, a missing or bad int8 scale, topk indices out
// of range or not increasing; kDimensionMismatch for another layout
// fingerprint, missing/extra tensors, other shapes, k > layout size;
// kNonFinite for NaN/Inf values or scales, or q * scale overflowing.
Result<DecodedUpdate> decode_update(std::span<const uint8_t> bytes, const ModelLayout& layout,
                                    const SafetensorsLimits& limits = {});

struct DecodedUpdateView {
  UpdateMetadata meta;
  std::span<const float> delta;  // dense, layout.size() floats: into `bytes` or `scratch`
  double norm2 = 0.0;            // sum of delta[i]^2 (float_sums.hpp)
};

// The server's per-update decode: the same checks and errors as
// decode_update, without copying when it need not. An f32 update whose
// tensors lie in layout order, back to back, at a float-aligned address (what
// encode_update writes, received into an aligned buffer) is only scanned:
// delta views `bytes`, valid while they are. Anything else is decoded into
// `scratch` (resized; its old contents are lost) and delta views that.
// norm2 comes from the same pass over the values.
Result<DecodedUpdateView> decode_update_view(std::span<const uint8_t> bytes, const ModelLayout& layout,
                                             std::vector<float>& scratch, const SafetensorsLimits& limits = {});

}  // namespace edgefed
