#include "export/proto_writer.hpp"

#include <bit>
#include <cstring>

namespace edgefed::ml {

static_assert(std::endian::native == std::endian::little, "ProtoWriter writes floats in host byte order");

void ProtoWriter::raw_varint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void ProtoWriter::varint(uint32_t field, int64_t value) {
  tag(field, 0);
  raw_varint(static_cast<uint64_t>(value));
}

void ProtoWriter::float32(uint32_t field, float value) {
  tag(field, 5);
  char b[4];
  std::memcpy(b, &value, 4);
  out_.append(b, 4);
}

void ProtoWriter::bytes(uint32_t field, std::string_view data) {
  tag(field, 2);
  raw_varint(data.size());
  out_.append(data);
}

}  // namespace edgefed::ml
