// Test seam: deliberately hostile updates, for testing robust aggregation
// (a compromised device). Applied to the delta just before it is encoded:
//   none        the honest delta (default)
//   sign-flip   -delta
//   scale:F     F x delta (e.g. scale:10)
//   noise[:S]   the delta replaced by Gaussian noise N(0, S^2) per
//               coordinate (default S = kDefaultNoiseStddev)
// Deterministic in the seed. Never used unless configured.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "edgefed/status.hpp"

namespace edgefed::agent {

struct Attack {
  enum class Kind { kNone, kSignFlip, kScale, kNoise };
  Kind kind = Kind::kNone;
  double value = 0;  // scale factor or noise stddev
};

// A fixed scale rather than one relative to the honest update: the model's
// weights start near 0.05, so noise of 0.5 per coordinate from one agent in
// twenty moves every weight by about half its size per version.
inline constexpr double kDefaultNoiseStddev = 0.5;

// "none", "sign-flip", "scale:F" (finite F), "noise" or "noise:S" (S > 0).
Result<Attack> parse_attack(const std::string& text);
std::string to_string(const Attack& a);

// Transforms `delta` in place; `seed` drives the noise.
void apply_attack(const Attack& a, std::span<float> delta, uint64_t seed);

}  // namespace edgefed::agent
