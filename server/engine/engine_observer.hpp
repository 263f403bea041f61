// A seam for observers of the engine (server/monitor, server/eval): they see
// accepted updates and stored telemetry, and may add to the status answer.
// Installed once with Engine::set_observer before traffic starts.
//
// Threads: on_update and on_telemetry run on the thread that called
// submit_update / submit_telemetry (an HTTP worker), after the engine
// answered and with no engine lock held, so they may call Engine methods
// (e.g. set_quarantine); for submit_update_async (the HTTP server's), on the
// task that call's `defer` runs (a worker), maybe while the answer is sent.
// decorate runs on the thread calling status().
// Implementations must be thread-safe and must not throw.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "edgefed/protocol.hpp"

namespace edgefed::server {

class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  // A newly accepted update (duplicates are not reported): its dense delta as
  // the engine decoded it (the size of the layout it was accepted against)
  // and the engine's ack; norm2 is the delta's sum of squares, computed once
  // by the engine (float_sums.hpp).
  virtual void on_update(const std::string& agent_id, std::span<const float> delta, double norm2,
                         const UpdateAck& ack) = 0;
  // The records of one telemetry batch that the engine stored now, in batch
  // order (never empty). A record already stored (resent after a lost ack,
  // also across server restarts) is not reported again: the store decided,
  // so observers count what they are given and keep no seq of their own.
  virtual void on_telemetry(const TelemetryBatch& stored) = 0;
  // Adds what the observer knows (accuracy, outlier scores) to a status.
  virtual void decorate(ServerStatus& status) const = 0;
};

}  // namespace edgefed::server
