// The safetensors reader: checks the structure of an untrusted file in the
// order that keeps every step cheap and bounded (length field, cap, header
// bytes, JSON, then each tensor against the data section), so a hostile
// input is refused before anything proportional to a claimed size happens.
#include "edgefed/safetensors.hpp"

#include <algorithm>
#include <limits>

#include "safetensors_header.hpp"

namespace edgefed {
namespace {

using detail::quote_name;

Status invalid(std::string message) { return Status(Code::kInvalidArgument, std::move(message)); }

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool dtype_from_name(std::string_view name, DType& out) {
  for (DType d : {DType::kF32, DType::kF16, DType::kI8, DType::kI32}) {
    if (dtype_name(d) == name) {
      out = d;
      return true;
    }
  }
  return false;
}

// Built by appending: GCC 12 at -O3 reports a false -Wrestrict (GCC bug
// 105329) inside libstdc++ for `"literal" + std::string&&`.
std::string describe_range(uint64_t begin, uint64_t end) {
  std::string s = "[";
  s.append(std::to_string(begin)).append(", ").append(std::to_string(end)).append("]");
  return s;
}

std::string describe_shape(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Checks one entry against the data section and turns it into a view.
Result<TensorView> check_tensor(const detail::RawTensorEntry& raw, std::span<const uint8_t> data) {
  const std::string who = "tensor " + quote_name(raw.name);
  TensorView t;
  t.name = raw.name;
  if (!dtype_from_name(raw.dtype, t.dtype))
    return invalid(who + " has unknown dtype " + quote_name(raw.dtype) + " (edgefed reads F32, F16, I8, I32)");
  if (raw.begin > raw.end)
    return invalid(who + " has data_offsets " + describe_range(raw.begin, raw.end) + " with begin after end");
  if (raw.end > data.size())
    return invalid(who + " has data_offsets " + describe_range(raw.begin, raw.end) + " outside the " +
                   std::to_string(data.size()) + "-byte data section (truncated file?)");
  // Every prefix product must fit int64, so TensorView::numel cannot overflow.
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t numel = 1;
  for (uint64_t d : raw.shape) {
    if (d != 0 && numel > kMax / d) return invalid(who + " has shape " + describe_shape(raw.shape) + " that overflows");
    numel *= d;
    t.shape.push_back(static_cast<int64_t>(d));
  }
  const uint64_t have = raw.end - raw.begin;
  const uint64_t size = dtype_size(t.dtype);
  if (numel > have / size || numel * size != have) {
    const std::string need = numel > UINT64_MAX / size ? "over 2^64" : std::to_string(numel * size);
    return invalid(who + " has shape " + describe_shape(raw.shape) + " of " + raw.dtype + " (" + need +
                   " bytes), but data_offsets " + describe_range(raw.begin, raw.end) + " hold " +
                   std::to_string(have) + " bytes");
  }
  t.data = data.subspan(raw.begin, have);
  return t;
}

}  // namespace

std::string_view dtype_name(DType d) {
  switch (d) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kI8: return "I8";
    case DType::kI32: return "I32";
  }
  return "F32";
}

size_t dtype_size(DType d) {
  switch (d) {
    case DType::kF32: return 4;
    case DType::kF16: return 2;
    case DType::kI8: return 1;
    case DType::kI32: return 4;
  }
  return 4;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

Result<SafetensorsFile> parse_safetensors(std::span<const uint8_t> bytes, const SafetensorsLimits& limits) {
  if (bytes.empty()) return invalid("empty file: a safetensors file starts with an 8-byte header length");
  if (bytes.size() < 8)
    return invalid("truncated file: " + std::to_string(bytes.size()) +
                   " bytes, fewer than the 8-byte header length");
  const uint64_t n = load_le64(bytes.data());
  // The cap comes first: a claimed size is only compared, never allocated.
  if (n > limits.max_header_bytes)
    return Status(Code::kPayloadTooLarge, "header length " + std::to_string(n) + " exceeds the limit of " +
                                              std::to_string(limits.max_header_bytes) + " bytes");
  if (n > bytes.size() - 8)
    return invalid("header length " + std::to_string(n) + " is larger than the " +
                   std::to_string(bytes.size() - 8) + " bytes that follow it (truncated file?)");
  const auto header = bytes.subspan(8, static_cast<size_t>(n));
  // The format's reference reader requires the header to open with '{'.
  if (header.empty() || header[0] != '{') return invalid("header is not a JSON object (it must start with '{')");
  EDGEFED_RETURN_IF_ERROR(detail::check_utf8(header, "header"));
  // nlohmann's lexer takes a NUL byte for the end of input, which would let
  // anything after one pass unread; JSON text never holds a raw NUL.
  if (const auto nul = std::find(header.begin(), header.end(), uint8_t{0}); nul != header.end())
    return invalid("header is not valid JSON: NUL byte at " + std::to_string(nul - header.begin()));
  detail::RawHeader raw;
  EDGEFED_RETURN_IF_ERROR(detail::parse_header_json(header, limits.max_tensors, limits.max_metadata_entries, raw));

  const auto data = bytes.subspan(8 + static_cast<size_t>(n));
  SafetensorsFile file;
  file.metadata = std::move(raw.metadata);
  file.tensors.reserve(raw.tensors.size());
  for (const auto& entry : raw.tensors) {
    auto t = check_tensor(entry, data);
    if (!t) return t.status();
    file.tensors.push_back(std::move(t.value()));
  }
  // The tensors must tile the data section exactly: every byte belongs to one
  // tensor, so no hidden payload and no aliasing between tensors.
  std::stable_sort(file.tensors.begin(), file.tensors.end(), [&](const TensorView& a, const TensorView& b) {
    if (a.data.data() != b.data.data()) return a.data.data() < b.data.data();
    return a.data.size() < b.data.size();
  });
  size_t pos = 0;
  const TensorView* prev = nullptr;
  for (const auto& t : file.tensors) {
    const size_t begin = static_cast<size_t>(t.data.data() - data.data());
    if (begin > pos)
      return invalid("data section has a hole: bytes " + describe_range(pos, begin) + " belong to no tensor");
    if (begin < pos)
      return invalid("tensor " + quote_name(t.name) + " overlaps tensor " + quote_name(prev->name) +
                     " (data_offsets " + describe_range(begin, begin + t.data.size()) + ", other ends at " +
                     std::to_string(pos) + ")");
    pos = begin + t.data.size();
    prev = &t;
  }
  if (pos != data.size())
    return invalid("data section has " + std::to_string(data.size() - pos) +
                   " trailing bytes that belong to no tensor");
  return file;
}

}  // namespace edgefed
