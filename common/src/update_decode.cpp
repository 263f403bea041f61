// Decoding an untrusted update file into a dense delta. Order of checks:
// structure (parse_safetensors), metadata, layout fingerprint, tensor names,
// dtypes and shapes, then values, so the cheap checks refuse most bad input
// before any per-value work. The dense delta is sized by the server's own
// layout, never by anything the file claims.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

#include "decimal.hpp"
#include "edgefed/float_sums.hpp"
#include "edgefed/update_codec.hpp"
#include "safetensors_header.hpp"
#include "tensor_bytes.hpp"
#include "update_codec_internal.hpp"

namespace edgefed {
namespace {

using detail::load_at;
using detail::quote_name;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Status non_finite(const std::string& tensor, size_t k, float v) {
  return Status(Code::kNonFinite, "tensor " + quote_name(tensor) + " holds " + (std::isnan(v) ? "NaN" : "Inf") +
                                      " at index " + std::to_string(k));
}

Status check_dtype(const TensorView& t, DType want, Encoding e) {
  if (t.dtype == want) return Status::ok();
  return Status(Code::kInvalidArgument, "tensor " + quote_name(t.name) + " is " + std::string(dtype_name(t.dtype)) +
                                            " but encoding " + std::string(enum_name(e)) + " stores " +
                                            std::string(dtype_name(want)));
}

// int8 scale of one tensor from the metadata.
Result<float> read_scale(const SafetensorsFile& file, const std::string& tensor) {
  const std::string key = detail::scale_key(tensor);
  auto it = file.metadata.find(key);
  if (it == file.metadata.end())
    return Status(Code::kInvalidArgument, "int8 update lacks metadata " + quote_name(key));
  const auto s = detail::parse_decimal_float(it->second);
  if (!s) return Status(Code::kInvalidArgument, "metadata " + quote_name(key) + " is not a number: " +
                                                   quote_name(it->second));
  if (!std::isfinite(*s)) return Status(Code::kNonFinite, "metadata " + quote_name(key) + " is not finite");
  if (*s < 0) return Status(Code::kInvalidArgument, "metadata " + quote_name(key) + " is negative");
  return *s;
}

constexpr size_t kScanBlock = 4096;  // floats: 16 KiB, stays in L1 between the passes

// Scans f32 values for Inf/NaN (exponent bits all ones). This is the server's
// per-update check of the usual encoding: a per-value isfinite() with an
// early return kept the loop scalar and cost ~10 % of the server's CPU per
// update; the branch-free maximum vectorizes. `first` is the index of p[0]
// in its tensor, for the message.
Status scan_finite_f32(const std::string& tensor, const float* p, size_t len, size_t first) {
  constexpr uint32_t kAbsMask = 0x7fffffffu;
  constexpr uint32_t kExponentAllOnes = 0x7f800000u;
  uint32_t worst = 0;
  for (size_t k = 0; k < len; ++k) {
    uint32_t bits;
    std::memcpy(&bits, p + k, sizeof bits);
    worst = std::max(worst, bits & kAbsMask);
  }
  if (worst < kExponentAllOnes) return Status::ok();
  for (size_t k = 0; k < len; ++k) {
    if (!std::isfinite(p[k])) return non_finite(tensor, first + k, p[k]);
  }
  return Status::ok();
}

// f32 values are copied as they are, then the copy is scanned, a block at a
// time.
Status copy_finite_f32(const TensorView& t, size_t n, float* dst) {
  for (size_t b = 0; b < n; b += kScanBlock) {
    const size_t len = std::min(kScanBlock, n - b);
    std::memcpy(dst + b, t.data.data() + b * sizeof(float), len * sizeof(float));
    EDGEFED_RETURN_IF_ERROR(scan_finite_f32(t.name, dst + b, len, b));
  }
  return Status::ok();
}

// The f32 values of a file whose tensors are exactly the layout's, in its
// order, same shapes, back to back from a float-aligned address: one span
// over the file's bytes. nullopt for anything else (decode_dense then checks
// it value by value and names what is wrong).
std::optional<std::span<const float>> f32_view(const SafetensorsFile& file, const ModelLayout& layout) {
  const auto& specs = layout.tensors();
  if (file.tensors.size() != specs.size() || specs.empty()) return std::nullopt;
  const uint8_t* start = file.tensors[0].data.data();
  if (reinterpret_cast<std::uintptr_t>(start) % alignof(float) != 0) return std::nullopt;
  const uint8_t* next = start;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorView& t = file.tensors[i];
    if (t.name != specs[i].name || t.dtype != DType::kF32 || t.shape != specs[i].shape || t.data.data() != next ||
        t.data.size() != static_cast<size_t>(specs[i].numel()) * sizeof(float))
      return std::nullopt;
    next += t.data.size();
  }
  // The bytes are floats written by the encoder (or the network): viewing
  // them as such is the zero-copy read the format is laid out for.
  return std::span<const float>(reinterpret_cast<const float*>(start), static_cast<size_t>(layout.size()));
}

// Checks a view's values and sums their squares in one pass, block by block.
Result<double> scan_view(std::span<const float> delta, const ModelLayout& layout) {
  const auto& specs = layout.tensors();
  double norm2 = 0.0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const size_t n = static_cast<size_t>(specs[i].numel());
    const float* p = delta.data() + layout.offset(i);
    for (size_t b = 0; b < n; b += kScanBlock) {
      const size_t len = std::min(kScanBlock, n - b);
      EDGEFED_RETURN_IF_ERROR(scan_finite_f32(specs[i].name, p + b, len, b));
      norm2 += sum_squares(std::span<const float>(p + b, len));
    }
  }
  return norm2;
}

// f32, f16, int8: the file holds exactly the layout's tensors, same shapes.
Status decode_dense(const SafetensorsFile& file, const ModelLayout& layout, Encoding e, std::vector<float>& out) {
  const auto& specs = layout.tensors();
  if (file.tensors.size() != specs.size())
    return Status(Code::kDimensionMismatch, "update has " + std::to_string(file.tensors.size()) +
                                                " tensors, the layout " + std::to_string(specs.size()));
  const DType want = e == Encoding::kF32 ? DType::kF32 : e == Encoding::kF16 ? DType::kF16 : DType::kI8;
  for (size_t i = 0; i < specs.size(); ++i) {
    // Files edgefed writes list tensors in layout order: check that position
    // first, so the usual case is linear in the tensor count.
    const TensorView* t =
        file.tensors[i].name == specs[i].name ? &file.tensors[i] : file.find(specs[i].name);
    if (!t) return Status(Code::kDimensionMismatch, "update lacks tensor " + quote_name(specs[i].name));
    EDGEFED_RETURN_IF_ERROR(check_dtype(*t, want, e));
    if (t->shape != specs[i].shape)
      return Status(Code::kDimensionMismatch, "tensor " + quote_name(t->name) + " has shape " + shape_text(t->shape) +
                                                  ", the layout says " + shape_text(specs[i].shape));
    float* dst = out.data() + layout.offset(i);
    const size_t n = static_cast<size_t>(specs[i].numel());
    float scale = 0.0f;
    if (e == Encoding::kInt8) {
      auto s = read_scale(file, t->name);
      if (!s) return s.status();
      scale = *s;
    }
    switch (e) {
      case Encoding::kF32: EDGEFED_RETURN_IF_ERROR(copy_finite_f32(*t, n, dst)); break;
      case Encoding::kF16:
        for (size_t k = 0; k < n; ++k) {
          const float v = half_to_float(load_at<uint16_t>(t->data, k));
          if (!std::isfinite(v)) return non_finite(t->name, k, v);
          dst[k] = v;
        }
        break;
      default:
        for (size_t k = 0; k < n; ++k) {
          const float v = static_cast<float>(static_cast<double>(load_at<int8_t>(t->data, k)) * scale);
          if (!std::isfinite(v)) return non_finite(t->name, k, v);
          dst[k] = v;
        }
        break;
    }
  }
  return Status::ok();
}

Status decode_topk(const SafetensorsFile& file, std::vector<float>& out) {
  const TensorView* idx = file.find(detail::kTopkIndices);
  const TensorView* val = file.find(detail::kTopkValues);
  if (file.tensors.size() != 2 || !idx || !val)
    return Status(Code::kInvalidArgument, "topk update must hold exactly the tensors __topk_indices__ and "
                                          "__topk_values__");
  EDGEFED_RETURN_IF_ERROR(check_dtype(*idx, DType::kI32, Encoding::kTopK));
  EDGEFED_RETURN_IF_ERROR(check_dtype(*val, DType::kF32, Encoding::kTopK));
  if (idx->shape.size() != 1 || val->shape != idx->shape)
    return Status(Code::kInvalidArgument, "topk tensors must both have shape [k], got " + shape_text(idx->shape) +
                                              " and " + shape_text(val->shape));
  const size_t k = static_cast<size_t>(idx->shape[0]);
  const size_t n = out.size();
  if (k > n)
    return Status(Code::kDimensionMismatch, "topk update keeps " + std::to_string(k) + " entries of a " +
                                                std::to_string(n) + "-parameter layout");
  int64_t prev = -1;
  for (size_t j = 0; j < k; ++j) {
    const int64_t i = load_at<int32_t>(idx->data, j);
    if (i <= prev || i >= static_cast<int64_t>(n))
      return Status(Code::kInvalidArgument, "__topk_indices__[" + std::to_string(j) + "] = " + std::to_string(i) +
                                                (i >= static_cast<int64_t>(n) || i < 0
                                                     ? " is outside the layout"
                                                     : " is not above the previous index"));
    const float v = load_at<float>(val->data, j);
    if (!std::isfinite(v)) return non_finite(val->name, j, v);
    out[static_cast<size_t>(i)] = v;
    prev = i;
  }
  return Status::ok();
}

}  // namespace

Result<DecodedUpdateView> decode_update_view(std::span<const uint8_t> bytes, const ModelLayout& layout,
                                             std::vector<float>& scratch, const SafetensorsLimits& limits) {
  auto file = parse_safetensors(bytes, limits);
  if (!file) return file.status();
  auto meta = parse_update_metadata(file->metadata);
  if (!meta) return meta.status();
  if (meta->layout_fingerprint != layout.fingerprint())
    return Status(Code::kDimensionMismatch, "update is for layout " + meta->layout_fingerprint +
                                                ", the model's layout is " + layout.fingerprint() + " (" +
                                                layout.describe() + ")");
  DecodedUpdateView out;
  out.meta = std::move(meta.value());
  if (out.meta.encoding == Encoding::kF32) {
    if (auto view = f32_view(*file, layout)) {
      auto norm2 = scan_view(*view, layout);
      if (!norm2) return norm2.status();
      out.delta = *view;
      out.norm2 = *norm2;
      return out;
    }
  }
  const size_t n = static_cast<size_t>(layout.size());
  if (out.meta.encoding == Encoding::kTopK) {
    scratch.assign(n, 0.0f);  // what topk leaves out is zero
    EDGEFED_RETURN_IF_ERROR(decode_topk(*file, scratch));
  } else {
    scratch.resize(n);  // every value is written below
    EDGEFED_RETURN_IF_ERROR(decode_dense(*file, layout, out.meta.encoding, scratch));
  }
  out.delta = scratch;
  out.norm2 = sum_squares(scratch);
  return out;
}

Result<DecodedUpdate> decode_update(std::span<const uint8_t> bytes, const ModelLayout& layout,
                                    const SafetensorsLimits& limits) {
  std::vector<float> scratch;
  auto view = decode_update_view(bytes, layout, scratch, limits);
  if (!view) return view.status();
  DecodedUpdate out;
  out.meta = std::move(view->meta);
  if (view->delta.data() == scratch.data()) out.delta = std::move(scratch);
  else out.delta.assign(view->delta.begin(), view->delta.end());
  return out;
}

}  // namespace edgefed
