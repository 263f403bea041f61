#include "decimal.hpp"

#include <charconv>
#include <system_error>

namespace edgefed::detail {
namespace {

// from_chars accepts a leading '-' and "nan"/"inf"; it never accepts '+' or
// whitespace. Requiring it to consume every byte rejects trailing junk.
template <typename T>
std::optional<T> parse_all(std::string_view text) {
  if (text.empty()) return std::nullopt;
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

template <typename T>
std::string format_shortest(T v) {
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "nan";  // cannot happen: 64 bytes always suffice
  return std::string(buf, ptr);
}

}  // namespace

std::optional<int64_t> parse_decimal_int(std::string_view text) {
  // Digits only: from_chars alone would accept "-5" and "-0".
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  return parse_all<int64_t>(text);
}

std::optional<double> parse_decimal_double(std::string_view text) { return parse_all<double>(text); }
std::optional<float> parse_decimal_float(std::string_view text) { return parse_all<float>(text); }

std::string format_double(double v) { return format_shortest(v); }
std::string format_float(float v) { return format_shortest(v); }

}  // namespace edgefed::detail
