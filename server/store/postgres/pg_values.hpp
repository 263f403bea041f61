// Values between the Pg tables and their queries: doubles as the text
// PostgreSQL reads and writes exactly (shortest round-trip digits; NaN and
// the infinities by PostgreSQL's names), booleans, and a tolerant reader
// for counts (bigint or numeric sums). Private to the Pg store.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/store/postgres/pg_result.hpp"

namespace edgefed::server::pgv {

// The text of a DOUBLE PRECISION parameter. Keep the string alive until the
// query returns (a temporary in the query's full expression is).
inline std::string double_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

inline const char* bool_text(bool v) { return v ? "true" : "false"; }

// A DOUBLE PRECISION value of a text result (or a text cast of one in a
// binary result); 0 for NULL or text that does not parse.
inline double get_double(const PgResult& res, int row, int col) {
  const std::string_view t = res.get_text(row, col);
  if (t == "NaN") return std::nan("");
  if (t == "Infinity") return HUGE_VAL;
  if (t == "-Infinity") return -HUGE_VAL;
  double v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

// A BOOLEAN of a text result ("t" / "f").
inline bool get_bool(const PgResult& res, int row, int col) { return res.get_text(row, col) == "t"; }

}  // namespace edgefed::server::pgv
