// Fleet time (edgefed-sim --fleet-time): a simulated device's round lasts
// what it would on that device, whatever else shares this machine. The
// round (AgentLoop: validating the new version, training, encoding, the
// outbox, the push) runs as fast as the CPU allows and is measured in thread
// CPU time (which contention does not stretch, unlike wall time); the
// device would take cpu x slowdown seconds for it, and the agent then waits
// until cpu x slowdown x dilation wall seconds have passed since the round
// began. One wall second is 1/dilation fleet seconds for every device, so
// the sim reports fleet seconds = wall seconds / dilation. A round whose
// wall time already exceeded its budget means the machine could not keep
// up (contention leaked into the timing): it is counted, so a run that
// measured contention is flagged instead of reported.
//
// Thread safety: wait_after_round() from the agent's thread, stats() from
// any. Errors: none (a non-finite or negative input counts as 0).
#pragma once

#include <cstdint>
#include <mutex>

namespace edgefed::agent {

struct DeviceProfile {
  double slowdown = 1;  // device seconds per CPU second of this machine, >= 1 after the sim's normalising
  double dilation = 1;  // wall seconds per fleet second, > 0
  // The device's link (0 = none: loopback costs nothing in fleet time).
  double latency_s = 0;            // per request
  double uplink_bytes_per_s = 0;   // 0 = unlimited
  double downlink_bytes_per_s = 0; // 0 = unlimited
};

// What a round moved over the device's link: the model it trained on (0 if
// it was already held) and the update it produced.
struct RoundTraffic {
  int64_t download_bytes = 0;
  int64_t upload_bytes = 0;
};

struct PaceStats {
  int64_t rounds = 0;
  int64_t rounds_behind = 0;   // rounds whose wall time exceeded their budget
  double cpu_s = 0;            // thread CPU time of the rounds
  double device_s = 0;         // what the device would have taken (fleet seconds of compute)
  double network_s = 0;        // fleet seconds on the device's link
  double overrun_wall_s = 0;   // sum of the overruns
};

class DevicePacer {
 public:
  explicit DevicePacer(DeviceProfile profile) : profile_(profile) {}

  // The wall seconds to wait after a round that used `cpu_s` of thread CPU
  // time and `wall_s` of wall time, and moved `traffic` over the link, so
  // that it lasts its device time (compute x slowdown, plus one latency per
  // transfer and the bytes at the link's rates, all x dilation); 0 and
  // counted as behind when the round's wall time alone already exceeded its
  // compute budget (its work waited for this machine).
  double wait_after_round(double cpu_s, double wall_s, RoundTraffic traffic = {});
  // Fleet seconds the link needs for `traffic`.
  double network_seconds(RoundTraffic traffic) const;
  PaceStats stats() const;
  const DeviceProfile& profile() const { return profile_; }

 private:
  const DeviceProfile profile_;
  mutable std::mutex mu_;
  PaceStats stats_;
};

// CPU seconds the calling thread has used (CLOCK_THREAD_CPUTIME_ID).
double thread_cpu_seconds();

}  // namespace edgefed::agent
