// Protocol Buffers wire format, write side only: enough to emit the few ONNX
// messages the exporter needs (onnx.proto is proto2; every field it uses is
// a varint, a 32-bit float, or length-delimited bytes/strings/messages).
// Repeated scalars are written unpacked (one tag per element), which every
// proto2 and proto3 parser accepts.
//
// Thread safety: none; a writer builds one message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edgefed::ml {

class ProtoWriter {
 public:
  // Field `field` as a varint (int32, int64, enum, bool). Negative int64
  // values take ten bytes, as protobuf encodes them.
  void varint(uint32_t field, int64_t value);
  // Field `field` as a 32-bit little-endian float (wire type 5).
  void float32(uint32_t field, float value);
  // Field `field` as length-delimited bytes (string, bytes, a sub-message).
  void bytes(uint32_t field, std::string_view data);
  void message(uint32_t field, const ProtoWriter& sub) { bytes(field, sub.data()); }

  const std::string& data() const { return out_; }

 private:
  void raw_varint(uint64_t v);
  void tag(uint32_t field, uint32_t wire_type) { raw_varint((uint64_t{field} << 3) | wire_type); }
  std::string out_;
};

}  // namespace edgefed::ml
