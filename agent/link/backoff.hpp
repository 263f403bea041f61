// Capped exponential backoff with jitter for reconnect attempts.
//
// The n-th consecutive failure (n = 0, 1, ...) waits
//   base_n = min(max_ms, initial_ms * multiplier^n)
//   delay  = base_n * (1 - jitter) + uniform[0, base_n * jitter]
// so delays grow until they reach max_ms, and a fleet that lost its link at
// the same moment does not come back in lock step. reset() after a success.
//
// Deterministic for a given seed (tests); seed 0 draws one from the OS.
// Thread safety: none; one owner (the LinkMonitor, under its mutex).
#pragma once

#include <cstdint>
#include <random>

#include "edgefed/status.hpp"

namespace edgefed::agent {

struct BackoffOptions {
  int64_t initial_ms = 500;   // first delay (before jitter)
  int64_t max_ms = 30000;     // cap on the delay
  double multiplier = 2.0;    // growth per failure, >= 1
  double jitter = 0.5;        // share of each delay that is random, in [0, 1]
  uint64_t seed = 0;          // 0 = random
};

// kInvalidArgument naming the bad field.
Status validate(const BackoffOptions& options);

class Backoff {
 public:
  // REQUIRES: validate(options).is_ok().
  explicit Backoff(const BackoffOptions& options = {});

  // The delay before the next attempt; counts one more failure.
  int64_t next_delay_ms();
  // Back to the initial delay (after a success).
  void reset() { failures_ = 0; }
  int64_t failures() const { return failures_; }
  const BackoffOptions& options() const { return options_; }

 private:
  BackoffOptions options_;
  int64_t failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace edgefed::agent
