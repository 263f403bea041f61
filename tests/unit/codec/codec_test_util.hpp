// Helpers for the codec tests: hand-built safetensors bytes (for inputs the
// writer would never produce) and random deltas.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "edgefed/model_layout.hpp"

namespace edgefed::test {

// 8-byte little-endian length + header text + data, the length taken from
// the header unless `claimed_length` overrides it.
inline std::string raw_file(const std::string& header, const std::string& data = "",
                            int64_t claimed_length = -1) {
  uint64_t n = claimed_length >= 0 ? static_cast<uint64_t>(claimed_length) : header.size();
  std::string out;
  for (int i = 0; i < 8; ++i, n >>= 8) out.push_back(static_cast<char>(n & 0xff));
  return out + header + data;
}

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

template <typename T>
std::string raw_values(std::initializer_list<T> values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

// Deltas with a wide spread of magnitudes (sign, exponent and mantissa all
// vary) plus exact zeros, deterministic in the seed.
inline std::vector<float> random_delta(size_t n, uint64_t seed, float max_abs = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_int_distribution<int> e(-20, 0);
  std::vector<float> v(n);
  for (auto& x : v) x = (rng() % 17 == 0) ? 0.0f : std::ldexp(u(rng), e(rng)) * max_abs;
  return v;
}

inline ModelLayout small_layout() { return ModelLayout::mlp("mlp:7-5-3").value(); }

}  // namespace edgefed::test
