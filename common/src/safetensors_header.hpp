// Internal: the JSON header of a safetensors file, read with a streaming
// (SAX) parser instead of building a DOM. Streaming lets the reader
//   - refuse a non-object header, a nested value where none belongs or the
//     (max_tensors + 1)-th tensor at the first offending token,
//   - see duplicate keys (a DOM keeps the last one silently; the format
//     forbids them),
//   - never hold more than the few strings and numbers it keeps,
// so a hostile header costs at most its own size in memory.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::detail {

// One tensor entry as written, before dtype and offsets are checked.
struct RawTensorEntry {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct RawHeader {
  std::map<std::string, std::string> metadata;
  std::vector<RawTensorEntry> tensors;  // in header order
};

inline constexpr size_t kMaxRank = 32;  // numpy's own limit

// REQUIRES: header is valid UTF-8 (check_utf8). Fails with kInvalidArgument
// naming the problem: not an object, bad JSON, duplicate or unknown keys,
// missing fields, wrong value types, too many tensors, metadata entries or
// dimensions.
Status parse_header_json(std::span<const uint8_t> header, size_t max_tensors, size_t max_metadata_entries,
                         RawHeader& out);

// Ok, or kInvalidArgument naming the offset of the first byte that is not
// part of a well-formed UTF-8 sequence (overlong forms and surrogates too).
Status check_utf8(std::span<const uint8_t> text, const char* what);

// A name for error messages: quoted and cut to 64 bytes, since names come
// from untrusted files and messages end up in logs and HTTP bodies.
std::string quote_name(const std::string& name);

}  // namespace edgefed::detail
