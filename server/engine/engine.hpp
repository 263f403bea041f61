// The merging engine: everything the HTTP layer calls. It validates and
// durably records updates and telemetry, merges updates into new model
// versions (sync FedAvg rounds or async FedBuff), keeps versions and the
// update ledger in SQLite, and serves the current model.
//
// Thread safety: every method is safe to call from any thread concurrently.
// Blocking: submit_update, submit_telemetry and the admin calls wait for a
// SQLite commit (milliseconds; longer under fsync) and submit_update decodes
// the body on the caller's thread: call them from worker threads, never from
// an io_context thread (submit_update_async waits for nothing). current_model, on_version_after, cancel, status,
// agents and ready only take short in-memory locks.
//
// Durability: when submit_update returns an ack, the update is committed to
// the ledger. A version commit writes the checkpoint and marks the merged
// ledger rows consumed in one transaction, so a crash at any point loses no
// acknowledged update and merges none twice; open() replays the rest.
//
// Staleness: tau = server version at merge - base_version. Every version
// commit merges the whole buffer (or round), so the version an update will be
// merged into is fixed when it is accepted; tau, and hence the weight in the
// ack, is computed at accept time and equals the merge-time value.
// Versions only grow: rollback(N) commits a NEW version whose parameters are
// those of N (parent N), so ETags and long polls never go backwards.
//
// Inside (docs/engine.md, "Threads"): Engine validates (updates: its
// UpdateIntake, update_intake.hpp, decodes and spools them) on the
// caller's thread and turns each call into a job for the GroupCommitWriter
// (group_commit_writer.hpp: the job queue and the one writer thread, which
// owns the VersionKeeper and commits jobs in groups); readers are answered
// from the PublishedState (published_state.hpp: what the writer published
// after its last commit, and the long-poll waiters). AgentRegistry and
// EngineMetrics are shared by both.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "server/engine/engine_observer.hpp"
#include "server/engine/engine_options.hpp"
#include "server/engine/model_snapshot.hpp"
#include "server/engine/serving_view.hpp"

namespace prometheus {
class Registry;
}

namespace edgefed::server {

class AgentRegistry;
class EngineMetrics;
class GroupCommitWriter;
class PublishedState;
class UpdateIntake;
class VersionKeeper;

class Engine {
 public:
  // An immutable encoded model (safetensors) and its identity (model_snapshot.hpp).
  using ModelSnapshot = ::edgefed::server::ModelSnapshot;

  // Creates or opens <state_dir>/edgefed.sqlite, resumes the newest version
  // (or creates version 0 from options.model_init), replays acknowledged but
  // unmerged updates and starts the writer thread. `metrics` may be null
  // (no metrics); otherwise the engine's metric families are registered on it.
  // Fails with kInvalidArgument on bad options, kIo on disk errors.
  static Result<std::unique_ptr<Engine>> open(const EngineOptions& options,
                                              std::shared_ptr<prometheus::Registry> metrics);
  ~Engine();  // calls shutdown()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Decodes and validates an update body and records it durably. Errors:
  // kPermissionDenied (metadata agent_id != cert_agent_id, or quarantined),
  // kTooStale (tau > max_staleness, or stale in sync mode with "refuse"),
  // kDimensionMismatch (layout fingerprint or shapes), kNonFinite (NaN/Inf),
  // kInvalidArgument (malformed body or metadata, base_version in the future),
  // kConflict (update_id seen before with a different body),
  // kUnavailable (queue full, shutting down, or the store could not commit:
  // disk full, failed write or fsync; nothing of the batch is kept and the
  // same update may be sent again), kIo.
  // Idempotent per (agent, update_id): a retry gets the original ack with
  // duplicate = true and is not merged again.
  Result<UpdateAck> submit_update(const std::string& cert_agent_id,
                                  std::span<const uint8_t> safetensors_body);
  // submit_update without waiting: the same checks and answers, with the same
  // durability when `done` gets an ack. Decodes, digests and spools on the
  // caller's thread (well under a millisecond for a 400 KB f32 update), never
  // waits for a commit, so an io_context thread may call it. `owner` keeps
  // the body alive until the update is answered and observed; `done` runs
  // exactly once, on this thread if the update is refused before it is
  // queued, else on the engine's writer or fsync thread, which it must not
  // block (post the answer elsewhere). The observer, if any, runs through
  // `defer` (a task that may block: it may call Engine methods), before done.
  void submit_update_async(const std::string& cert_agent_id, std::span<const uint8_t> safetensors_body,
                           std::shared_ptr<const void> owner, std::function<void(Result<UpdateAck>)> done,
                           std::function<void(std::function<void()>)> defer);

  // Secure aggregation (options.secure_aggregation): submit_update refuses
  // plain updates with kUnprocessable; instead each finished session hands
  // its unmasked num_samples-weighted mean here. It is recorded in the
  // ledger as one update of the reserved agent kSecAggLedgerAgent with
  // update_id = session (so a session handed twice, e.g. after a restart,
  // is a duplicate) and merged at once as a new version (the mean is the
  // version's step, times the server learning rate). tau is the server's
  // version minus base_version, recorded in the ledger; a session over
  // max_staleness is refused (kTooStale) like a plain update.
  // Errors: kUnprocessable when secure aggregation is off, then those of
  // submit_update.
  Result<UpdateAck> submit_aggregate(const std::string& session, int64_t base_version,
                                     std::span<const float> mean, uint64_t num_samples);

  // Stores a telemetry batch; records whose (agent, seq) is already stored
  // are ignored (not double counted, also after a restart: the store decides,
  // and the observer sees only the records stored now). kPermissionDenied if batch.agent_id !=
  // cert_agent_id; kInvalidArgument for empty/oversized batches.
  Result<TelemetryAck> submit_telemetry(const std::string& cert_agent_id,
                                        const TelemetryBatch& batch);

  ModelSnapshot current_model() const;
  // The published model's layout (never null once open).
  std::shared_ptr<const ModelLayout> layout() const;

  // Long-poll support: calls cb exactly once, from some engine or caller
  // thread, with the first snapshot whose version > after (immediately, on
  // the calling thread, if there is one already). cb must not block. Returns
  // an id for cancel(). Pending callbacks are dropped (not called) by
  // shutdown(); the HTTP layer keeps its own timer for ?wait=S.
  uint64_t on_version_after(int64_t after, std::function<void(ModelSnapshot)> cb);
  // Removes a pending callback; no effect if it already ran. After cancel()
  // returns the callback is not running and will not run.
  void cancel(uint64_t id);

  // The training plan for an agent (current version, options' task fields).
  // kPermissionDenied if the agent is quarantined.
  Result<Task> task_for(const std::string& agent_id);

  // Counters, agent list and version history (ServerStatus in protocol.hpp).
  ServerStatus status() const;

  // ---- admin ----
  // Commits a new version with these parameters (any layout; a new layout
  // drops the pending buffer: its deltas cannot apply).
  Status set_model(std::span<const uint8_t> safetensors);
  // Same, with a fresh model from a model spec's JSON text or a preset name
  // (ModelSpec::parse / ModelSpec::preset; kInvalidArgument with the reason).
  Status init_model(const std::string& spec, uint64_t seed);
  // Commits a new version (newest + 1) with the parameters of `version`,
  // parent = version. The pending buffer is dropped (marked discarded in the
  // ledger). kNotFound if that version has no checkpoint any more.
  Status rollback(int64_t version);
  // The parameters of a version that still has its checkpoint (the newest
  // is decoded from memory, an older one read on the writer thread).
  // kNotFound if there is no such version or its checkpoint was pruned;
  // kUnavailable if the engine is not ready.
  Result<Model> kept_model(int64_t version);
  // Serving channels (serving_channels.hpp): `version` becomes the stable
  // version the fleet serves (audit-logged; a canary in flight steps back).
  // kNotFound if it is not kept; kUnprocessable when channels are off.
  Status promote(int64_t version);
  // The channels as of the last commit (never null).
  std::shared_ptr<const ServingView> serving() const;
  // Whether `version` still has its checkpoint (the newest keep_last_n, the
  // multiples of keep_every_m, the stable and canary versions).
  bool kept(int64_t version) const;
  Status set_quarantine(const std::string& agent, bool quarantined, const std::string& reason);
  std::vector<AgentStatus> agents() const;

  // ---- site relay (options.relay; server/relay/relay_uplink.hpp) ----
  // Commits the central server's model (safetensors bytes) as `version`;
  // nothing if the relay has it or a newer one. kInvalidArgument for bytes
  // that do not decode.
  Status adopt_upstream(int64_t version, std::span<const uint8_t> safetensors);
  // Forms partial sums of the pending updates when due (or `force`):
  // VersionKeeper::form_relay_batches. Returns how many.
  Result<int64_t> form_relay_batches(bool force);
  // Partial sums formed (and committed) since open(): the uplink sends a
  // batch as soon as this moves. Thread-safe.
  int64_t relay_batches_formed() const;
  // Whether the relay's uplink works (RelayUplink says so after each
  // exchange): while it is down, partial sums grow (relay_batcher.hpp).
  void set_relay_uplink_up(bool up);
  // Agent updates accepted (not duplicates) since open(): what a relay
  // paces its adoption of central versions by. Thread-safe.
  int64_t accepted_updates() const;
  // The central server's task (GET /v1/task as the relay's agent): from
  // then on task_for hands the relay's agents its training fields (mode,
  // epochs, steps, batch size, lr, momentum, weight decay, proximal mu,
  // clip norm, encoding, top-k share) instead of this server's --task-*
  // flags, so a site trains exactly as the central fleet does. Returns
  // whether they differ from the last ones. Thread-safe.
  bool set_upstream_task(const Task& central);
  // A partial sum waiting for the central server's answer.
  struct RelayBatchToSend {
    int64_t id = 0;
    std::string update_id;
    int64_t base_version = 0;
    int64_t updates = 0;  // agent updates summed
    int64_t samples = 0;  // their num_samples, summed
    std::string body;     // the update body to POST upstream
  };
  // The batches the central server has not answered yet, oldest first.
  Result<std::vector<RelayBatchToSend>> unsent_relay_batches(int64_t limit);
  // Records the central server's answers to batches (result "accepted",
  // "duplicate", or the refusal) and drops their bodies, in one transaction.
  struct RelayBatchAnswer {
    int64_t id = 0;
    std::optional<int64_t> upstream_version;
    std::string result;
  };
  Status mark_relay_batches(const std::vector<RelayBatchAnswer>& answers);

  // Installs the observer (engine_observer.hpp; null removes it).
  // REQUIRES: called before requests arrive (it is not synchronised).
  void set_observer(std::shared_ptr<EngineObserver> observer);

  // True once open() succeeded and until shutdown() starts.
  bool ready() const;
  // Stops the timer, fails queued calls with kUnavailable after committing
  // everything already accepted (accepted updates stay in the ledger and are
  // replayed on the next open; no partial round is forced into a version),
  // closes the database. Idempotent; safe from any thread except a callback.
  void shutdown();

 private:
  Engine(const EngineOptions& options, std::shared_ptr<prometheus::Registry> metrics);
  // Runs fn as a job of its own on the writer thread, inside one transaction.
  Status run_admin(std::function<Status(VersionKeeper&)> fn);
  int64_t now_ms() const;

  const EngineOptions options_;
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<EngineMetrics> metrics_;
  std::unique_ptr<AgentRegistry> agents_;
  std::unique_ptr<PublishedState> state_;
  std::unique_ptr<GroupCommitWriter> writer_;  // after the parts it uses: destroyed first
  // Decodes, spools and queues updates on the callers' threads (update_intake.hpp).
  std::unique_ptr<UpdateIntake> intake_;
  std::shared_ptr<EngineObserver> observer_;
  mutable std::mutex upstream_task_mu_;
  std::optional<Task> upstream_task_;  // set_upstream_task; under upstream_task_mu_
};

}  // namespace edgefed::server
