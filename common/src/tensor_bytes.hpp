// Internal: tensor values <-> the little-endian bytes of a safetensors data
// section. The host is little-endian (asserted), so values are copied as they
// lie in memory; reads go through memcpy because data inside a parsed file
// need not be aligned for its type.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>

namespace edgefed::detail {

static_assert(std::endian::native == std::endian::little, "edgefed's codecs assume a little-endian host");

template <typename T>
std::span<const uint8_t> byte_view(std::span<const T> values) {
  return {reinterpret_cast<const uint8_t*>(values.data()), values.size_bytes()};
}

// REQUIRES: bytes.size() >= (i + 1) * sizeof(T).
template <typename T>
T load_at(std::span<const uint8_t> bytes, size_t i) {
  T v;
  std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
  return v;
}

}  // namespace edgefed::detail
