// Encoding a model update (delta) into a safetensors file; the encodings and
// their error bounds are described in update_codec.hpp and
// docs/formats/safetensors.md. Decoding is in update_decode.cpp.
#include "edgefed/update_codec.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "decimal.hpp"
#include "safetensors_header.hpp"
#include "tensor_bytes.hpp"
#include "update_codec_internal.hpp"

namespace edgefed {
namespace {

using detail::byte_view;

constexpr float kHalfMax = 65504.0f;

// The buffers that the TensorOut views of one encoded file point into.
struct Staging {
  std::vector<TensorOut> tensors;
  std::vector<uint16_t> halves;
  std::vector<int8_t> bytes;
  std::vector<int32_t> indices;
  std::vector<float> values;
};

std::string where(const ModelLayout& layout, size_t flat) {
  // The tensor holding a flat index, for error messages.
  for (size_t i = layout.tensors().size(); i-- > 0;)
    if (static_cast<int64_t>(flat) >= layout.offset(i))
      return "index " + std::to_string(flat - static_cast<size_t>(layout.offset(i))) + " of tensor " +
             detail::quote_name(layout.tensors()[i].name);
  return "index " + std::to_string(flat);
}

// max|x| / 127 as a float, adjusted so that the quantiser loses nothing to
// the clamp (m / scale <= 127.5 even when the division rounds down or
// underflows into subnormals) and every q x scale the decoder computes stays
// finite. 0 for an all-zero tensor.
float int8_scale(std::span<const float> x) {
  float m = 0.0f;
  for (float v : x) m = std::max(m, std::fabs(v));
  if (m == 0.0f) return 0.0f;
  float scale = static_cast<float>(static_cast<double>(m) / 127.0);
  if (scale == 0.0f) scale = std::numeric_limits<float>::denorm_min();
  while (static_cast<double>(m) / scale > 127.5) scale = std::nextafter(scale, std::numeric_limits<float>::max());
  while (std::isinf(static_cast<float>(127.0 * scale))) scale = std::nextafter(scale, 0.0f);
  return scale;
}

void encode_f16(const ModelLayout& layout, std::span<const float> delta, Staging& s) {
  s.halves.resize(delta.size());
  for (size_t k = 0; k < delta.size(); ++k) s.halves[k] = float_to_half(delta[k]);
  for (size_t i = 0; i < layout.tensors().size(); ++i) {
    const auto& spec = layout.tensors()[i];
    const std::span<const uint16_t> h(s.halves.data() + layout.offset(i), static_cast<size_t>(spec.numel()));
    s.tensors.push_back({spec.name, DType::kF16, spec.shape, byte_view(h)});
  }
}

void encode_int8(const ModelLayout& layout, std::span<const float> delta, Staging& s,
                 std::map<std::string, std::string>& md) {
  s.bytes.resize(delta.size());
  for (size_t i = 0; i < layout.tensors().size(); ++i) {
    const auto& spec = layout.tensors()[i];
    const size_t off = static_cast<size_t>(layout.offset(i));
    const auto x = delta.subspan(off, static_cast<size_t>(spec.numel()));
    const float scale = int8_scale(x);
    for (size_t k = 0; k < x.size(); ++k) {
      // Quantise in double so the rounding is that of x / scale itself.
      const double q = scale > 0 ? std::nearbyint(static_cast<double>(x[k]) / scale) : 0.0;
      s.bytes[off + k] = static_cast<int8_t>(std::clamp(q, -127.0, 127.0));
    }
    md[detail::scale_key(spec.name)] = detail::format_float(scale);
    const std::span<const int8_t> q(s.bytes.data() + off, x.size());
    s.tensors.push_back({spec.name, DType::kI8, spec.shape, byte_view(q)});
  }
}

Status encode_topk(std::span<const float> delta, double fraction, Staging& s) {
  if (!(fraction > 0.0 && fraction <= 1.0))
    return Status(Code::kInvalidArgument, "topk_fraction must be in (0, 1], got " + detail::format_double(fraction));
  const size_t n = delta.size();
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return Status(Code::kInvalidArgument, "topk indices are I32; the model has more than 2^31-1 parameters");
  const size_t k = std::clamp<size_t>(static_cast<size_t>(std::llround(fraction * static_cast<double>(n))), 1, n);
  s.indices.resize(n);
  std::iota(s.indices.begin(), s.indices.end(), 0);
  // Largest magnitude first; equal magnitudes by index, so the choice is
  // deterministic. Selection is O(n), only the kept k are sorted.
  std::nth_element(s.indices.begin(), s.indices.begin() + static_cast<std::ptrdiff_t>(k - 1), s.indices.end(),
                   [&](int32_t a, int32_t b) {
                     const float ma = std::fabs(delta[static_cast<size_t>(a)]);
                     const float mb = std::fabs(delta[static_cast<size_t>(b)]);
                     return ma != mb ? ma > mb : a < b;
                   });
  s.indices.resize(k);
  std::sort(s.indices.begin(), s.indices.end());
  s.values.resize(k);
  for (size_t j = 0; j < k; ++j) s.values[j] = delta[static_cast<size_t>(s.indices[j])];
  const std::vector<int64_t> shape{static_cast<int64_t>(k)};
  s.tensors.push_back({std::string(detail::kTopkIndices), DType::kI32, shape,
                       byte_view(std::span<const int32_t>(s.indices))});
  s.tensors.push_back({std::string(detail::kTopkValues), DType::kF32, shape,
                       byte_view(std::span<const float>(s.values))});
  return Status::ok();
}

}  // namespace

Result<std::string> encode_update(const ModelLayout& layout, std::span<const float> delta, UpdateMetadata meta,
                                  const EncodeOptions& options) {
  if (delta.size() != static_cast<size_t>(layout.size()))
    return Status(Code::kDimensionMismatch, "delta has " + std::to_string(delta.size()) +
                                                " values, the layout " + std::to_string(layout.size()));
  for (size_t k = 0; k < delta.size(); ++k) {
    if (!std::isfinite(delta[k]))
      return Status(Code::kNonFinite, std::string("delta holds ") + (std::isnan(delta[k]) ? "NaN" : "Inf") +
                                          " at " + where(layout, k));
    if (options.encoding == Encoding::kF16 && std::fabs(delta[k]) > kHalfMax)
      return Status(Code::kInvalidArgument, "delta value " + detail::format_float(delta[k]) + " at " +
                                                where(layout, k) + " is beyond the f16 range (65504)");
  }
  meta.encoding = options.encoding;
  meta.layout_fingerprint = layout.fingerprint();
  auto md = to_metadata(meta);
  // Refuse to write what decode_update would refuse to read.
  if (auto check = parse_update_metadata(md); !check) return check.status();
  md["format"] = "edgefed-update";

  Staging s;
  switch (options.encoding) {
    case Encoding::kF32:
      for (size_t i = 0; i < layout.tensors().size(); ++i) {
        const auto& spec = layout.tensors()[i];
        const auto x = delta.subspan(static_cast<size_t>(layout.offset(i)), static_cast<size_t>(spec.numel()));
        s.tensors.push_back({spec.name, DType::kF32, spec.shape, byte_view(x)});
      }
      break;
    case Encoding::kF16: encode_f16(layout, delta, s); break;
    case Encoding::kInt8: encode_int8(layout, delta, s, md); break;
    case Encoding::kTopK: EDGEFED_RETURN_IF_ERROR(encode_topk(delta, options.topk_fraction, s)); break;
  }
  return write_safetensors(s.tensors, md);
}

}  // namespace edgefed
