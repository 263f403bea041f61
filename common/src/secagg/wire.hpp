// Internal to edgefed_secagg: the encodings the protocol's messages and
// snapshots share. Strict base64, a bounds-checked binary writer/reader,
// sealed (checksummed, versioned) snapshots, and a reader of JSON objects
// that records the first failure as a one-line Status.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgefed/secagg/shamir.hpp"
#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg::wire {

// RFC 4648 base64, standard alphabet, with padding.
std::string base64_encode(std::span<const std::uint8_t> bytes);
// Only the canonical encoding: no whitespace, padding exactly as
// base64_encode writes it, zero trailing bits. So every byte string has one
// text and "byte-identical" can be judged on either form.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

// An agent id as text, for error messages and logs.
inline std::string id(AgentId a) { return std::to_string(a); }

// Big-endian, the `bytes` low bytes of v: the byte strings that key
// derivation and share envelopes bind (key_schedule, share_envelope, shamir).
inline void put_be(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Little-endian binary writer.
class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void f64(double v);
  void key(const Key32& k) { out_.insert(out_.end(), k.begin(), k.end()); }
  // u32 length, then the bytes.
  void bytes(std::span<const std::uint8_t> b);
  void str(std::string_view s) { bytes(bytes_of(s)); }
  void share(const ShamirShare& s);
  std::vector<std::uint8_t>& out() { return out_; }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t> out_;
};

// The reader of Writer's output. Every read past the end or of a bad value
// marks the reader failed and returns a zero value; callers check ok() (or
// status()) once, after the reads that matter.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  double f64();
  Key32 key();
  std::vector<std::uint8_t> bytes();
  std::string str() {
    const std::vector<std::uint8_t> b = bytes();
    return {b.begin(), b.end()};
  }
  ShamirShare share();
  // A u32 element count, refused when `count * min_element_bytes` exceeds
  // what is left: a corrupt count cannot make the caller allocate much.
  std::size_t count(std::size_t min_element_bytes);
  // True when this is the last byte: the input had no trailing garbage.
  bool at_end() const { return pos_ == in_.size(); }
  void fail(std::string what) {
    if (ok_) error_ = std::move(what);
    ok_ = false;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  std::uint64_t get(int n);

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
  std::string error_;
};

// A snapshot: magic (4 ASCII bytes) | version (u16) | body | SHA-256 of
// everything before it (32 bytes). The digest catches a flipped bit or a
// truncated row; the magic catches a server snapshot handed to the client
// and vice versa.
std::vector<std::uint8_t> seal_snapshot(std::string_view magic, std::uint16_t version,
                                        std::span<const std::uint8_t> body);
// The body, after the checks; `what` names the state machine in errors.
Result<std::span<const std::uint8_t>> open_snapshot(std::span<const std::uint8_t> snapshot, std::string_view magic,
                                                    std::uint16_t version, std::string_view what);

// Agent ids double as Shamir x-coordinates: nonzero and below the prime.
bool valid_agent(AgentId id);

// Reads the members of one JSON object. The constructor checks that `j` is
// an object with exactly `members` (none missing, none unknown) and, if
// `type` is not empty, that its "type" member is that string. Every later
// read after a failure is a no-op returning a zero value; status() is the
// first failure, with the member's path ("share_upload.envelopes[2].to:
// must be ...").
class JsonIn {
 public:
  JsonIn(const nlohmann::json& j, std::string where, std::initializer_list<std::string_view> members,
         std::string_view type = {});

  bool ok() const { return status_.is_ok(); }
  const Status& status() const { return status_; }
  const std::string& where() const { return where_; }

  std::uint64_t u64(std::string_view key, std::uint64_t min, std::uint64_t max);
  AgentId agent(std::string_view key);
  std::string session(std::string_view key);
  double number(std::string_view key, double min_exclusive, double max_inclusive);
  // base64 bytes of exactly `size` (or any size up to max when exact is 0).
  std::vector<std::uint8_t> b64(std::string_view key, std::size_t exact, std::size_t max = 0);
  Key32 key32(std::string_view key);
  // A strictly ascending array of valid agent ids (canonical: sorted, no
  // repeats), at most `max` of them.
  std::vector<AgentId> agents(std::string_view key, std::size_t max);
  // The member, an array of at most `max` items, or nullptr after a failure.
  const nlohmann::json* array(std::string_view key, std::size_t max);
  // An item's path: where + "." + key + "[i]".
  std::string item(std::string_view key, std::size_t i) const;

  void fail(std::string_view key, const std::string& what);
  // Adopts the failure of a nested reader.
  void adopt(const Status& nested);

 private:
  const nlohmann::json* find(std::string_view key);

  const nlohmann::json& j_;
  std::string where_;
  Status status_;
};

// A short, safe rendering of a JSON value for error messages.
std::string short_dump(const nlohmann::json& v);

std::string ids_text(std::span<const AgentId> ids);

}  // namespace edgefed::secagg::wire
