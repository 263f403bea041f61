// Reader and writer for the safetensors format: an 8-byte little-endian
// header length N, N bytes of JSON header (tensor name -> {dtype, shape,
// data_offsets}, plus an optional "__metadata__" object of string -> string),
// then the raw little-endian tensor data. Offsets are relative to the start
// of the data section. Format notes: docs/formats/safetensors.md.
//
// The parser never trusts the input: the header length is capped, offsets
// must lie inside the buffer, cover the data section without holes or
// overlaps, and match dtype x shape. Every failure is a Status, never a crash.
// Nothing is allocated from a size the file claims; the header is read by a
// streaming JSON parser, so memory stays within a small multiple of the input.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed {

enum class DType { kF32, kF16, kI8, kI32 };
std::string_view dtype_name(DType d);  // "F32", "F16", "I8", "I32"
size_t dtype_size(DType d);

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::span<const uint8_t> data;  // points into the parsed buffer
  int64_t numel() const;
};

struct SafetensorsLimits {
  uint64_t max_header_bytes = 16u << 20;  // 16 MiB; the spec's own cap is 100 MB
  size_t max_tensors = 65536;
  // Entries of "__metadata__" (an int8 update has one per tensor plus eight);
  // with max_tensors, bounds the parsed header to a few MB whatever its text.
  size_t max_metadata_entries = 65536 + 1024;
};

// A parsed file. Views borrow from the buffer given to parse(): keep it alive.
struct SafetensorsFile {
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::vector<TensorView> tensors;              // in data-offset order
  const TensorView* find(std::string_view name) const;
};

// Parses and validates the whole structure (not the values: NaN/Inf are the
// callers' business, see model_io.hpp and update_codec.hpp).
// Errors: kPayloadTooLarge when the header length exceeds
// limits.max_header_bytes (checked before anything else is read); otherwise
// kInvalidArgument naming the problem: empty or truncated file, header length
// beyond the file, header not UTF-8 or not a JSON object (it must start with
// '{'; trailing spaces are fine), bad JSON, duplicate keys, a tensor entry
// without exactly dtype/shape/data_offsets, unknown dtype, offsets out of
// range, overlapping or leaving holes, a shape that does not match the bytes,
// more than limits.max_tensors tensors. Scalars (shape []) and empty tensors
// (a 0 dimension) are accepted, as the format allows.
Result<SafetensorsFile> parse_safetensors(std::span<const uint8_t> bytes,
                                          const SafetensorsLimits& limits = {});

// One tensor to write; data must hold numel x dtype_size bytes, little-endian.
struct TensorOut {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::span<const uint8_t> data;
};

// Serialises tensors in the given order, header padded with spaces to a
// multiple of 8 bytes so the data section is aligned; "__metadata__" is
// written first, and omitted when empty.
// REQUIRES: unique tensor names, none "__metadata__"; each data span holds
// numel x dtype_size bytes. Invalid UTF-8 in names or metadata is written as
// U+FFFD (edgefed's own names and metadata are ASCII).
std::string write_safetensors(const std::vector<TensorOut>& tensors,
                              const std::map<std::string, std::string>& metadata);

// IEEE binary16 <-> binary32, round to nearest even; values beyond the f16
// range become +-inf (callers check the range first).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

}  // namespace edgefed
