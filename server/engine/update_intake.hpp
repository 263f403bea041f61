// UpdateIntake: the part of accepting an update that runs on the caller's
// thread, beside every other caller: decode and validate the body, check it
// against the client certificate, digest it, append it to the update spool,
// then hand the row to the writer thread (GroupCommitWriter). submit_update
// waits for the answer; submit_update_async returns at once and reports it
// from the thread that completed the job, so no thread sleeps per update
// and the answer goes straight to the connection. Also the secure
// aggregation sessions' sums (submit_aggregate), which skip the decoding.
// Engine's calls of the same names are these (their contracts, errors
// included, are in engine.hpp).
//
// Thread safety: the submit calls and accepted_updates may be called from
// any thread at once; set_spool and set_observer only before the first of
// them.
// Ownership: holds references to the engine's parts, which outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "edgefed/update_codec.hpp"
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

  using UpdateDone = std::function<void(Result<UpdateAck>)>;
  // Runs a task where it may block (the observer may call Engine methods).
  using Defer = std::function<void(std::function<void()>)>;

  Result<UpdateAck> submit_update(const std::string& cert_agent_id, std::span<const uint8_t> body);
  // `owner` keeps `body` alive until the update is answered and observed.
  // `done` runs exactly once: on this thread for an update refused before it
  // is queued, else on the writer or fsync thread, which it must not block.
  // The observer runs through `defer`, before `done`.
  void submit_update_async(const std::string& cert_agent_id, std::span<const uint8_t> body,
                           std::shared_ptr<const void> owner, UpdateDone done, Defer defer);
  Result<UpdateAck> submit_aggregate(const std::string& session, int64_t base_version, std::span<const float> mean,
                                     uint64_t num_samples);
  // Updates accepted (not duplicates) since start.
  int64_t accepted_updates() const { return accepted_updates_.load(std::memory_order_relaxed); }

 private:
  struct Pending;  // one update between its arrival and its answer
  // Everything before the writer: checks, decode, digest, spool. Fills in
  // p's update (views into the body or p's scratch).
  Status prepare(Pending& p);
  // The writer's answer: frees a spool record no row names, counts, defers
  // the observer, then calls done.
  void finish(std::shared_ptr<Pending> p, Result<UpdateAck> ack);
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
