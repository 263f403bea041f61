// The link's state machine: online / offline, when the next attempt may be
// made, and one log line per state change:
//   link_online      first successful exchange
//   link_offline     first failure after being online (or at start)
//   link_recovered   first success after being offline (with the outage
//                    length and the number of failed attempts)
// Failures while offline are logged at debug level only.
//
// While offline, ready() is false until the backoff delay since the last
// failure has passed (capped exponential with jitter, see backoff.hpp); a
// server's Retry-After can only lengthen that delay.
//
// Thread safety: all methods are thread-safe (the loop reports, a simulator
// may read state() from another thread).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/link/backoff.hpp"
#include "edgefed/clock.hpp"

namespace edgefed::agent {

enum class LinkState { kUnknown, kOnline, kOffline };
std::string_view link_state_name(LinkState s);  // "unknown", "online", "offline"

struct LinkStats {
  int64_t failures = 0;       // failed exchanges, total
  int64_t outages = 0;        // online -> offline transitions (start counts)
  int64_t recoveries = 0;     // offline -> online transitions
  int64_t offline_ms = 0;     // total time spent offline (closed outages)
};

class LinkMonitor {
 public:
  // `clock` must outlive the monitor. `agent_id` goes into every log line.
  LinkMonitor(const Clock& clock, BackoffOptions backoff, std::string agent_id);

  // May a request be made now?
  bool ready() const;
  // Milliseconds until ready() (0 if ready now).
  int64_t wait_ms() const;

  void on_success();
  // `min_delay_ms`: e.g. from a Retry-After header (0 = none).
  void on_failure(std::string_view reason, int64_t min_delay_ms = 0);

  LinkState state() const;
  LinkStats stats() const;

 private:
  const Clock& clock_;
  std::string agent_id_;
  mutable std::mutex mu_;
  Backoff backoff_;
  LinkState state_ = LinkState::kUnknown;
  int64_t next_attempt_ms_ = 0;   // monotonic
  int64_t offline_since_ms_ = 0;  // monotonic
  int64_t failed_attempts_ = 0;   // in the current outage
  LinkStats stats_;
};

}  // namespace edgefed::agent
