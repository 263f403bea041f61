#include "agent/link/link_monitor.hpp"

#include <algorithm>

#include "edgefed/log.hpp"

namespace edgefed::agent {

std::string_view link_state_name(LinkState s) {
  switch (s) {
    case LinkState::kUnknown: return "unknown";
    case LinkState::kOnline: return "online";
    case LinkState::kOffline: return "offline";
  }
  return "unknown";
}

LinkMonitor::LinkMonitor(const Clock& clock, BackoffOptions backoff, std::string agent_id)
    : clock_(clock), agent_id_(std::move(agent_id)), backoff_(backoff) {}

bool LinkMonitor::ready() const { return wait_ms() == 0; }

int64_t LinkMonitor::wait_ms() const {
  std::lock_guard lock(mu_);
  if (state_ != LinkState::kOffline) return 0;
  return std::max<int64_t>(0, next_attempt_ms_ - clock_.monotonic_ms());
}

void LinkMonitor::on_success() {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.monotonic_ms();
  if (state_ == LinkState::kOffline) {
    const int64_t outage = now - offline_since_ms_;
    stats_.offline_ms += outage;
    ++stats_.recoveries;
    log::info("link_recovered")
        .kv("agent", agent_id_)
        .kv("offline_s", static_cast<double>(outage) / 1000.0)
        .kv("failed_attempts", failed_attempts_);
  } else if (state_ == LinkState::kUnknown) {
    log::info("link_online").kv("agent", agent_id_);
  }
  state_ = LinkState::kOnline;
  failed_attempts_ = 0;
  backoff_.reset();
}

void LinkMonitor::on_failure(std::string_view reason, int64_t min_delay_ms) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.monotonic_ms();
  const int64_t delay = std::max(backoff_.next_delay_ms(), min_delay_ms);
  next_attempt_ms_ = now + delay;
  ++stats_.failures;
  ++failed_attempts_;
  if (state_ != LinkState::kOffline) {
    ++stats_.outages;
    offline_since_ms_ = now;
    log::warn("link_offline")
        .kv("agent", agent_id_)
        .kv("reason", std::string(reason))
        .kv("retry_in_ms", delay);
  } else {
    log::debug("link_retry_failed")
        .kv("agent", agent_id_)
        .kv("reason", std::string(reason))
        .kv("attempt", failed_attempts_)
        .kv("retry_in_ms", delay);
  }
  state_ = LinkState::kOffline;
}

LinkState LinkMonitor::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

LinkStats LinkMonitor::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace edgefed::agent
