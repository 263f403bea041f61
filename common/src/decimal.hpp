// Internal: numbers as decimal strings, for safetensors "__metadata__" (which
// is string -> string, so update fields and int8 scales travel as text).
// Parsing is strict because these strings come from untrusted files: the whole
// string must be the number (no spaces, no '+', no trailing junk), integers
// must not overflow, and floats go through std::from_chars so the result does
// not depend on the C locale. Formatting is the shortest text that reads back
// to the same bits, so a value written and read again is unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgefed::detail {

// Digits only ("0".."9223372036854775807"); nullopt on anything else.
std::optional<int64_t> parse_decimal_int(std::string_view text);
// A decimal or scientific number ("0.25", "1e-3", "-2"); "nan"/"inf" parse
// to themselves, so callers decide about finiteness. nullopt on junk.
std::optional<double> parse_decimal_double(std::string_view text);
std::optional<float> parse_decimal_float(std::string_view text);

std::string format_double(double v);  // shortest round-trip form
std::string format_float(float v);

}  // namespace edgefed::detail
