#include "server/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace edgefed::server::http {

RateLimiter::RateLimiter(double rate, double burst, size_t max_keys)
    : rate_(rate), burst_(std::max(1.0, burst)), max_keys_(max_keys) {}

int RateLimiter::acquire(const std::string& key, Clock::time_point now) {
  if (rate_ <= 0) return 0;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) prune(now);
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  const double wait = (1.0 - b.tokens) / rate_;
  return std::max(1, static_cast<int>(std::ceil(wait)));
}

void RateLimiter::prune(Clock::time_point now) {
  const double full_after = burst_ / rate_;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double idle = std::chrono::duration<double>(now - it->second.last).count();
    if (idle >= full_after) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace edgefed::server::http
