// RequestBody: the bytes of one request body, immutable once read, shared by
// the session and the handler (for an update: the engine, until the update
// is answered and observed).
//
// Why not std::string: a string of the body's size is zero-filled before the
// bytes are copied in, and Beast's string body reads through the session's
// buffer first, so a 400 KB update was written three times before it was
// decoded. The session reads a body of known length straight into
// `uninitialized(n)`'s buffer (server/http/session.cpp).
//
// Thread safety: const access from any thread; the writable buffer only
// before the body is shared. Ownership: owns its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace edgefed::server::http {

class RequestBody {
 public:
  RequestBody() = default;
  explicit RequestBody(std::string_view bytes) : RequestBody(uninitialized(bytes.size())) {
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  // `size` bytes whose contents are unspecified until written through
  // mutable_data().
  static RequestBody uninitialized(std::size_t size) {
    RequestBody b;
    b.data_.reset(size ? new char[size] : nullptr);
    b.size_ = size;
    return b;
  }

  char* mutable_data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_.get(), size_}; }
  std::span<const uint8_t> bytes() const { return {reinterpret_cast<const uint8_t*>(data_.get()), size_}; }
  operator std::string_view() const { return view(); }  // NOLINT: reads like the string it replaces

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
};

}  // namespace edgefed::server::http
