// Per-key token buckets (key = agent id): `rate` tokens per second refill a
// bucket of `burst` tokens; each request takes one. Thread-safe. Memory is
// bounded: buckets idle long enough to be full again are dropped when the
// table grows past max_keys.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace edgefed::server::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // rate <= 0 disables limiting (acquire always succeeds).
  RateLimiter(double rate, double burst, size_t max_keys = 100000);

  // Takes a token for `key`. Returns 0 on success, otherwise the seconds
  // (>= 1, rounded up) until a token will be available: the Retry-After.
  int acquire(const std::string& key, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  void prune(Clock::time_point now);

  double rate_;
  double burst_;
  size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace edgefed::server::http
