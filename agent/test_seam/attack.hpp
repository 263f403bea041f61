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
  // Honest until the model trained on reaches this version (a device
  // compromised later in the run); 0 = hostile from the start.
  int64_t from_version = 0;
};

// A fixed scale, large against the model (weights start near 0.05, an
// honest update is about 0.006 per coordinate): the "Gaussian" Byzantine
// attack of the robust-aggregation literature (Blanchard et al. 2017 use
// stddev 200). Measured with 20 agents on Fashion-MNIST, sync FedAvg, one
// noise agent among four hostile ones: stddev 0.5 cost 3 accuracy points
// after 5 versions, 2 cost 19, 10 cost 47.
inline constexpr double kDefaultNoiseStddev = 10.0;

// "none", "sign-flip", "scale:F" (finite F), "noise" or "noise:S" (S > 0).
Result<Attack> parse_attack(const std::string& text);
std::string to_string(const Attack& a);

// Transforms `delta` in place; `seed` drives the noise.
void apply_attack(const Attack& a, std::span<float> delta, uint64_t seed);

}  // namespace edgefed::agent
