// Moves what the outbox holds to the server, oldest first: updates one POST
// each, telemetry in batches. A record leaves the outbox only when the server
// acknowledged it (or refused it for good: dropped, counted, logged).
// Forwarding stops at the first transient failure (the link's backoff then
// decides when to try again); nothing is ever retried in a tight loop.
//
// Thread safety: not thread-safe (the agent's thread); the outbox and link
// must outlive the forwarder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "edgefed/clock.hpp"
#include "agent/link/link.hpp"
#include "agent/outbox/outbox.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

struct ForwardOptions {
  size_t updates_per_pass = 64;        // most updates sent by one forward() call
  size_t telemetry_batch = 200;        // records per POST /v1/telemetry
  size_t telemetry_batch_bytes = 256u << 10;
  size_t telemetry_batches_per_pass = 50;
};

struct ForwardStats {
  int64_t updates_acked = 0;
  int64_t updates_rejected = 0;
  int64_t telemetry_acked = 0;
  int64_t telemetry_rejected = 0;
  bool drained = false;   // the outbox was empty when forward() returned
  bool link_failed = false;  // stopped by a transient failure
};

class Forwarder {
 public:
  Forwarder(Outbox& outbox, Link& link, const Clock& clock, std::string agent_id,
            ForwardOptions options = {});

  // One pass: updates first (the model learns from them), then telemetry
  // (unless include_telemetry is false: the caller batches it over time).
  // Returns kIo only for outbox failures; link trouble is in the stats.
  Result<ForwardStats> forward(bool include_telemetry = true);

 private:
  Status forward_updates(ForwardStats& stats);
  Status forward_telemetry(ForwardStats& stats);

  Outbox& outbox_;
  Link& link_;
  const Clock& clock_;
  std::string agent_id_;
  ForwardOptions options_;
};

}  // namespace edgefed::agent
