#include "synthetic_updates.hpp"

#include <cmath>
#include <numbers>

namespace edgefed::bench {
namespace {

constexpr size_t kSlack = 65536;

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in (0, 1].
double unit(uint64_t& s) { return (static_cast<double>(splitmix64(s) >> 11) + 1.0) * 0x1.0p-53; }

}  // namespace

SyntheticUpdates::SyntheticUpdates(size_t dim, uint64_t seed) : dim_(dim), seed_(seed), pool_(dim + kSlack) {
  uint64_t s = seed;
  for (size_t i = 0; i + 1 < pool_.size(); i += 2) {  // Box-Muller, two per draw
    const double r = std::sqrt(-2.0 * std::log(unit(s))), t = 2.0 * std::numbers::pi * unit(s);
    pool_[i] = static_cast<float>(r * std::cos(t));
    pool_[i + 1] = static_cast<float>(r * std::sin(t));
  }
}

void SyntheticUpdates::fill(size_t row, std::span<float> out) const {
  uint64_t s = seed_ ^ (0xD1B54A32D192ED03ull * (row + 1));
  const size_t offset = splitmix64(s) % kSlack;
  const float factor = static_cast<float>((0.5 + unit(s)) * ((splitmix64(s) & 1) ? -1.0 : 1.0));
  const float* src = pool_.data() + offset;
  for (size_t i = 0; i < dim_ && i < out.size(); ++i) out[i] = factor * src[i];
}

double SyntheticUpdates::weight(size_t row) const {
  uint64_t s = seed_ + 7919 * (row + 1);
  return static_cast<double>(1 + splitmix64(s) % 1000);
}

}  // namespace edgefed::bench
