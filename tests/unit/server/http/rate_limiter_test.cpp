#include <catch2/catch.hpp>

#include "server/http/rate_limiter.hpp"

using edgefed::server::http::RateLimiter;

TEST_CASE("token bucket: burst, refill, Retry-After, per key", "[unit][http]") {
  RateLimiter limiter(2.0, 3.0);
  const auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) CHECK(limiter.acquire("a", t0) == 0);
  CHECK(limiter.acquire("a", t0) == 1);  // empty: next token in 0.5 s -> 1 s
  CHECK(limiter.acquire("b", t0) == 0);  // own bucket
  CHECK(limiter.acquire("a", t0 + std::chrono::milliseconds(500)) == 0);
  CHECK(limiter.acquire("a", t0 + std::chrono::milliseconds(500)) >= 1);
  CHECK(limiter.acquire("a", t0 + std::chrono::seconds(10)) == 0);  // refilled, capped at burst
}

TEST_CASE("rate 0 disables the limit; the table stays bounded", "[unit][http]") {
  RateLimiter off(0, 1);
  for (int i = 0; i < 1000; ++i) CHECK(off.acquire("a") == 0);
  RateLimiter small(1000.0, 1.0, 8);
  const auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 100; ++i) CHECK(small.acquire("k" + std::to_string(i), t0 + std::chrono::seconds(i)) == 0);
}
