// The engine's writer thread and the job queue in front of it. Caller
// threads queue a Job (an update, a telemetry batch or an admin call) and
// wait; the one writer thread owns the VersionKeeper (and so the SQLite
// connection). It takes up to group_commit_max queued jobs at a time and runs
// them in ONE transaction (group commit: one fsync for the batch), closes
// versions when the count or the clock says so, reports what the commit
// changed (metrics, logs) and publishes the new state to PublishedState, then
// completes the batch's jobs. Without jobs it wakes every timer_tick_ms for
// the time-based closing.
//
// Replicas (a PostgreSQL store; docs/replicas.md): every replica_poll_s the
// writer ticks its ReplicaSet: a replica that becomes the leader reloads
// the whole state (newest version, optimizer state, every pending update)
// and merges from then on; the leader buffers what the other replicas
// recorded; a follower reloads when the database holds a newer version; a
// leader that lost its database session steps down.
//
// Thread safety: run(), submit(), ready() and stop() may be called from any thread;
// everything else happens on the writer thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "edgefed/clock.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "server/engine/agent_registry.hpp"
#include "server/engine/commit_syncer.hpp"
#include "server/engine/engine_metrics.hpp"
#include "server/engine/engine_options.hpp"
#include "server/engine/published_state.hpp"
#include "server/engine/version_keeper.hpp"
#include "server/store/replica_set.hpp"

namespace edgefed::server {

class GroupCommitWriter {
 public:
  // A unit of work for the writer thread. The caller owns the job: on its
  // stack for run(), which waits; or until on_done for submit(), which does
  // not. The writer fills in the results before completing it.
  struct Job {
    enum class Kind { kUpdate, kTelemetry, kAdmin };
    Kind kind = Kind::kUpdate;
    const IncomingUpdate* update = nullptr;      // kUpdate
    std::string agent;                           // kTelemetry
    const TelemetryBatch* telemetry = nullptr;   // kTelemetry
    std::function<Status(VersionKeeper&)> admin; // kAdmin, runs inside the transaction
    // Results.
    Status status;
    UpdateAck ack;
    TelemetryAck telemetry_ack;
    std::vector<TelemetryRecord> telemetry_stored;  // kTelemetry: the records stored now
    // submit(): called once with the results set, on the writer or the
    // fsync thread, which must not block in it; the job may be freed there.
    std::function<void(Job&)> on_done;
    std::promise<void> done;  // run()

    // Hands the job back: on_done, or wakes run().
    void complete() {
      if (on_done) on_done(*this);
      else done.set_value();
    }
  };

  // All references must outlive the writer.
  GroupCommitWriter(const EngineOptions& options, Clock& clock, EngineMetrics& metrics, AgentRegistry& agents,
                    PublishedState& state);
  ~GroupCommitWriter();  // calls stop()
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Takes over the opened keeper (and the joined replica set, null without
  // replicas) and starts the writer thread; ready() turns true. Called once.
  void start(std::unique_ptr<VersionKeeper> keeper, std::unique_ptr<ReplicaSet> replicas = nullptr);
  // Queues the job and waits until the writer completed it. kUnavailable if
  // the writer is stopping or too many updates are queued already.
  Status run(Job& job);
  // Queues the job and returns at once: on_done (REQUIRED) reports its
  // outcome later. An error here (run()'s) means it was not queued and
  // on_done is never called.
  Status submit(Job& job);
  // True from start() until stop() begins, except while the state is lost:
  // a failed transaction could not reload it (the database is unreachable).
  // Meanwhile every job fails with kUnavailable (503 + Retry-After) and the
  // writer tries to reload at most once a second; service resumes once it
  // succeeds.
  // With the pipelined group commit (commit_syncer.hpp), false for good once
  // an fsync failed.
  bool ready() const { return ready_.load() && !state_lost_.load() && !writes_stopped(); }
  // A relay: partial sums the writer formed (and committed) so far; the
  // uplink watches it to send a batch as soon as it is there.
  int64_t relay_batches_formed() const { return relay_batches_formed_.load(std::memory_order_relaxed); }
  // A relay: whether its uplink works (relay_batcher.hpp: a cut changes how
  // partial sums are formed). Any thread.
  void set_relay_uplink_up(bool up) { relay_uplink_up_.store(up, std::memory_order_relaxed); }
  // Refuses new jobs, lets the writer finish everything already queued,
  // joins it and closes the database. Idempotent; safe from any thread except
  // the writer.
  void stop();

 private:
  // An fsync of the pipelined group commit failed: nothing more is written
  // until restart (commit_syncer.hpp).
  bool writes_stopped() const { return syncer_ && syncer_->failed(); }
  void writer_loop();
  std::vector<Job*> take_batch();  // REQUIRES: queue_mu_ held
  void run_batch(const std::vector<Job*>& batch);
  Status handle(Job& job, int64_t& telemetry_stored);
  void run_timers();
  // The replica tick (rate-limited to replica_poll_s): leadership changes,
  // the leader's absorb, a follower's reload.
  void tick_replicas();
  // While the state is lost: reloads it (rate-limited to once a second);
  // true once the keeper is usable again.
  bool reload_lost_state();
  // Metrics and logs of what the commit changed, then publishes the state
  // and completes the jobs: at once, or (pipelined) once the syncer made the
  // commit durable.
  void after_commit(int64_t telemetry_stored, std::vector<Job*> jobs = {});
  int64_t now_ms() const { return clock_.unix_ms(); }

  const EngineOptions& options_;
  Clock& clock_;
  EngineMetrics& metrics_;
  AgentRegistry& agents_;
  PublishedState& state_;
  std::unique_ptr<VersionKeeper> keeper_;  // the writer thread's once started
  std::unique_ptr<ReplicaSet> replicas_;   // likewise; null without replicas
  // The pipelined group commit's fsync thread; null when commits are
  // durable by themselves. Set in start(), stopped after the writer.
  std::unique_ptr<CommitSyncer> syncer_;
  double next_replica_tick_s_ = 0;         // writer thread only
  bool replica_tick_failing_ = false;      // writer thread only: log once per outage
  int64_t replica_ticks_ = 0;              // writer thread only
  bool clock_skewed_ = false;              // writer thread only

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Job*> queue_;
  int64_t queued_updates_ = 0;
  bool stopping_ = false;
  std::atomic<bool> ready_{false};
  std::atomic<bool> state_lost_{false};
  std::atomic<int64_t> relay_batches_formed_{0};
  std::atomic<bool> relay_uplink_up_{true};
  double next_reload_s_ = 0;         // writer thread only
  double next_agent_metrics_s_ = 0;  // writer thread only
  std::mutex stop_mu_;
  std::thread writer_;
};

}  // namespace edgefed::server
