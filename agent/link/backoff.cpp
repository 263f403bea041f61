#include "agent/link/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace edgefed::agent {

Status validate(const BackoffOptions& o) {
  if (o.initial_ms < 1) return Status(Code::kInvalidArgument, "backoff initial must be >= 1 ms");
  if (o.max_ms < o.initial_ms)
    return Status(Code::kInvalidArgument, "backoff max must be >= backoff initial");
  if (!(o.multiplier >= 1.0) || !std::isfinite(o.multiplier))
    return Status(Code::kInvalidArgument, "backoff multiplier must be >= 1");
  if (!(o.jitter >= 0.0 && o.jitter <= 1.0))
    return Status(Code::kInvalidArgument, "backoff jitter must be in [0, 1]");
  return Status::ok();
}

Backoff::Backoff(const BackoffOptions& options)
    : options_(options), rng_(options.seed ? options.seed : std::random_device{}()) {}

int64_t Backoff::next_delay_ms() {
  // Exponent capped so the power never overflows; the min() caps the value.
  const double exponent = static_cast<double>(std::min<int64_t>(failures_, 62));
  const double base = std::min(static_cast<double>(options_.max_ms),
                               static_cast<double>(options_.initial_ms) *
                                   std::pow(options_.multiplier, exponent));
  ++failures_;
  const double fixed = base * (1.0 - options_.jitter);
  std::uniform_real_distribution<double> u(0.0, base * options_.jitter);
  const double delay = fixed + (options_.jitter > 0 ? u(rng_) : 0.0);
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(delay)));
}

}  // namespace edgefed::agent
