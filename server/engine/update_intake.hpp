// UpdateIntake: the part of accepting an update that runs on the caller's
// thread, beside every other caller: decode and validate the body, check it
// against the client certificate, digest it, append it to the update spool,
// then hand the row to the writer thread (GroupCommitWriter) and wait for
// the answer. Also the secure aggregation sessions' sums (submit_aggregate),
// which skip the decoding. Engine::submit_update and submit_aggregate are
// these calls (their contracts, errors included, are in engine.hpp).
//
// Thread safety: submit_update, submit_aggregate and accepted_updates may be
// called from any thread at once; set_spool and set_observer only before the
// first of them.
// Ownership: holds references to the engine's parts, which outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "server/engine/engine_observer.hpp"
#include "server/engine/engine_options.hpp"

namespace edgefed::server {

class AgentRegistry;
class EngineMetrics;
class GroupCommitWriter;
class PublishedState;
class UpdateSpool;
struct IncomingUpdate;

class UpdateIntake {
 public:
  UpdateIntake(const EngineOptions& options, EngineMetrics& metrics, const AgentRegistry& agents,
               const PublishedState& state, GroupCommitWriter& writer);

  // Null: bodies go into the database (--spool-mb 0, PostgreSQL).
  void set_spool(std::shared_ptr<UpdateSpool> spool) { spool_ = std::move(spool); }
  void set_observer(std::shared_ptr<EngineObserver> observer) { observer_ = std::move(observer); }

  Result<UpdateAck> submit_update(const std::string& cert_agent_id, std::span<const uint8_t> body);
  Result<UpdateAck> submit_aggregate(const std::string& session, int64_t base_version, std::span<const float> mean,
                                     uint64_t num_samples);
  // Updates accepted (not duplicates) since start.
  int64_t accepted_updates() const { return accepted_updates_.load(std::memory_order_relaxed); }

 private:
  // decoded_delta, if not null, receives the decoded delta (for the observer).
  Result<UpdateAck> submit_decoded(const std::string& cert_agent_id, std::span<const uint8_t> body,
                                   std::vector<float>* decoded_delta);
  // One job for the writer thread; waits for its answer.
  Result<UpdateAck> record_update(const IncomingUpdate& update);
  // Appends the body to the spool, if there is one with room.
  void spool_body(IncomingUpdate& u);

  const EngineOptions& options_;
  EngineMetrics& metrics_;
  const AgentRegistry& agents_;
  const PublishedState& state_;
  GroupCommitWriter& writer_;
  std::shared_ptr<UpdateSpool> spool_;
  std::shared_ptr<EngineObserver> observer_;
  std::atomic<int64_t> accepted_updates_{0};
};

}  // namespace edgefed::server
