// Helpers of the secure aggregation tests: hex <-> bytes, and a
// deterministic RandomSource per test.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/secagg/random_source.hpp"
#include "edgefed/secagg/types.hpp"

namespace secagg_test {

inline std::vector<std::uint8_t> unhex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit");
  };
  std::vector<std::uint8_t> out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == ':') continue;
    if (high < 0) {
      high = nibble(c);
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | nibble(c)));
      high = -1;
    }
  }
  if (high >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

inline edgefed::secagg::Key32 key32(std::string_view hex) {
  const std::vector<std::uint8_t> b = unhex(hex);
  if (b.size() != 32) throw std::invalid_argument("not 32 bytes");
  edgefed::secagg::Key32 k{};
  for (std::size_t i = 0; i < 32; ++i) k[i] = b[i];
  return k;
}

template <typename Bytes>
std::string hex(const Bytes& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

// A reproducible source named by a small number.
inline edgefed::secagg::RandomSource test_random(std::uint8_t n) {
  edgefed::secagg::Key32 seed{};
  seed[0] = n;
  seed[31] = 0xa5;
  return edgefed::secagg::deterministic_random(seed);
}

}  // namespace secagg_test
