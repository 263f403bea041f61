// One parameter ($1, $2, ...) of PgConnection::query: NULL, text (the
// server infers its type from the statement: text, integer, timestamp, ...),
// a 64-bit integer, or bytes sent in binary format as bytea.
// Ownership: text() and bytes() keep a view, not a copy: the caller's
// buffer must stay valid until query() returns. Bytes go to libpq without a
// copy (update bodies and checkpoints are hundreds of KB to tens of MB);
// text is copied once by query(), which needs it NUL-terminated.
// Thread safety: a value; share freely.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <span>
#include <string_view>

namespace edgefed::server {

class PgParam {
 public:
  enum class Kind { kNull, kText, kInt64, kBytes };

  static PgParam null() { return PgParam(Kind::kNull, {}); }
  static PgParam text(std::string_view value) { return PgParam(Kind::kText, value); }
  static PgParam bytes(std::string_view value) { return PgParam(Kind::kBytes, value); }
  static PgParam bytes(std::span<const std::uint8_t> value) {
    return PgParam(Kind::kBytes, std::string_view(reinterpret_cast<const char*>(value.data()), value.size()));
  }
  // Sent as decimal text, so the statement decides the column type.
  static PgParam int64(std::int64_t value) {
    PgParam p(Kind::kInt64, {});
    const auto r = std::to_chars(p.digits_.data(), p.digits_.data() + p.digits_.size() - 1, value);
    *r.ptr = '\0';
    p.digits_len_ = static_cast<std::uint8_t>(r.ptr - p.digits_.data());
    return p;
  }

  Kind kind() const { return kind_; }
  // The value's bytes (text, decimal digits or raw bytes); empty for NULL.
  // For kInt64 the view points into this object.
  std::string_view value() const {
    return kind_ == Kind::kInt64 ? std::string_view(digits_.data(), digits_len_) : view_;
  }

 private:
  PgParam(Kind kind, std::string_view view) : kind_(kind), view_(view) {}

  Kind kind_;
  std::string_view view_;
  std::array<char, 24> digits_{};  // kInt64: "-9223372036854775808" and a NUL
  std::uint8_t digits_len_ = 0;
};

}  // namespace edgefed::server
