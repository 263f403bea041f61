#include "server/store/postgres/pg_result.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <utility>

namespace edgefed::server {
namespace {

bool in_range(const PGresult* res, int row, int col) {
  return res != nullptr && row >= 0 && col >= 0 && row < PQntuples(res) && col < PQnfields(res);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

PgResult::~PgResult() {
  if (res_ != nullptr) PQclear(res_);
}

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (res_ != nullptr) PQclear(res_);
    res_ = std::exchange(o.res_, nullptr);
  }
  return *this;
}

int PgResult::rows() const { return res_ != nullptr ? PQntuples(res_) : 0; }

int PgResult::columns() const { return res_ != nullptr ? PQnfields(res_) : 0; }

int PgResult::column(const std::string& name) const { return res_ != nullptr ? PQfnumber(res_, name.c_str()) : -1; }

std::int64_t PgResult::rows_affected() const {
  if (res_ == nullptr) return 0;
  const std::string_view tuples = PQcmdTuples(res_);
  std::int64_t n = 0;
  std::from_chars(tuples.data(), tuples.data() + tuples.size(), n);
  return n;
}

bool PgResult::is_null(int row, int col) const { return !in_range(res_, row, col) || PQgetisnull(res_, row, col) != 0; }

std::string_view PgResult::get_text(int row, int col) const {
  if (is_null(row, col)) return {};
  return std::string_view(PQgetvalue(res_, row, col), static_cast<size_t>(PQgetlength(res_, row, col)));
}

std::string PgResult::get_bytes(int row, int col) const {
  const std::string_view raw = get_text(row, col);
  if (raw.empty() || PQfformat(res_, col) == 1) return std::string(raw);
  // Text format: bytea_output = hex ("\x0a1b..."), PostgreSQL's default.
  if (raw.size() >= 2 && raw[0] == '\\' && raw[1] == 'x' && raw.size() % 2 == 0) {
    std::string out;
    out.resize((raw.size() - 2) / 2);
    for (size_t i = 0; i < out.size(); ++i) {
      const int hi = hex_digit(raw[2 + 2 * i]);
      const int lo = hex_digit(raw[3 + 2 * i]);
      if (hi < 0 || lo < 0) return {};
      out[i] = static_cast<char>((hi << 4) | lo);
    }
    return out;
  }
  // bytea_output = escape, set by someone.
  size_t n = 0;
  unsigned char* decoded = PQunescapeBytea(reinterpret_cast<const unsigned char*>(raw.data()), &n);
  if (decoded == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(decoded), n);
  PQfreemem(decoded);
  return out;
}

std::int64_t PgResult::get_int64(int row, int col) const {
  const std::string_view raw = get_text(row, col);
  if (raw.empty()) return 0;
  if (PQfformat(res_, col) == 1) {
    // Binary: smallint, integer or bigint, big-endian two's complement.
    if (raw.size() != 2 && raw.size() != 4 && raw.size() != 8) return 0;
    std::uint64_t u = 0;
    for (const char c : raw) u = (u << 8) | static_cast<unsigned char>(c);
    const unsigned bits = static_cast<unsigned>(raw.size()) * 8;
    if (bits < 64 && (u >> (bits - 1)) != 0) u |= ~std::uint64_t{0} << bits;  // sign-extend
    return static_cast<std::int64_t>(u);
  }
  std::int64_t v = 0;
  const auto r = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  return r.ec == std::errc() && r.ptr == raw.data() + raw.size() ? v : 0;
}

}  // namespace edgefed::server
