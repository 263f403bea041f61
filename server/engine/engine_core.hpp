// The engine's implementation behind Engine (engine.hpp documents the
// contract). Threads:
//   - callers (HTTP worker threads) decode and validate updates themselves,
//     then queue a job and wait for it;
//   - one writer thread owns the VersionKeeper (and so the SQLite
//     connection). It takes up to group_commit_max queued jobs at a time and
//     runs them in ONE transaction (group commit: one fsync for the batch),
//     closes versions when the count or the clock says so, then completes
//     the batch's jobs. Without jobs it wakes every timer_tick_ms for the
//     time-based closing.
// What other threads read (model snapshot, counters, history) is published
// by the writer after each commit under state_mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/engine/agent_registry.hpp"
#include "server/engine/engine.hpp"
#include "server/engine/engine_metrics.hpp"
#include "server/engine/version_keeper.hpp"
#include "server/engine/version_waiters.hpp"

namespace edgefed::server {

class EngineCore {
 public:
  static Result<std::unique_ptr<EngineCore>> open(const EngineOptions& options,
                                                  std::shared_ptr<prometheus::Registry> metrics);
  ~EngineCore();

  // When `decoded_delta` is given and the update is accepted, it receives the
  // dense delta the engine decoded (observers reuse it instead of decoding
  // the body a second time).
  Result<UpdateAck> submit_update(const std::string& cert_agent_id, std::span<const uint8_t> body,
                                  std::vector<float>* decoded_delta = nullptr);
  // When `newly_stored` is given and the batch committed, it receives the
  // records this call stored (not those already there): what observers count.
  Result<TelemetryAck> submit_telemetry(const std::string& cert_agent_id, const TelemetryBatch& batch,
                                        TelemetryBatch* newly_stored = nullptr);
  ModelSnapshot current_model() const;
  uint64_t on_version_after(int64_t after, std::function<void(ModelSnapshot)> cb);
  void cancel(uint64_t id) { waiters_.cancel(id); }
  Result<Task> task_for(const std::string& agent_id);
  ServerStatus status() const;
  Status set_model(std::span<const uint8_t> safetensors);
  Status init_model(const std::string& spec, uint64_t seed);
  Status rollback(int64_t version);
  Status set_quarantine(const std::string& agent, bool quarantined, const std::string& reason);
  std::vector<AgentStatus> agents() const;
  bool ready() const { return ready_.load(); }
  void shutdown();

 private:
  struct Job;
  EngineCore(const EngineOptions& options, std::shared_ptr<prometheus::Registry> metrics);
  Result<UpdateAck> submit_decoded(const std::string& cert_agent_id, std::span<const uint8_t> body,
                                   std::vector<float>* decoded_delta);
  // Queues the job and waits until the writer completed it.
  Status run(Job& job);
  Status run_admin(std::function<Status(VersionKeeper&)> fn);
  void writer_loop();
  std::vector<Job*> take_batch();  // REQUIRES: queue_mu_ held
  void run_batch(const std::vector<Job*>& batch);
  Status handle(Job& job, int64_t& telemetry_stored);
  void run_timers();
  void after_commit(int64_t telemetry_stored);
  void publish();
  int64_t now_ms() const { return clock_->unix_ms(); }

  const EngineOptions options_;
  std::shared_ptr<Clock> clock_;
  EngineMetrics metrics_;
  AgentRegistry agents_;
  VersionWaiters waiters_;
  std::unique_ptr<VersionKeeper> keeper_;  // the writer thread's (open() before it starts)

  mutable std::mutex state_mu_;  // what the writer publishes
  ModelSnapshot snapshot_;
  std::shared_ptr<const ModelLayout> layout_;
  int64_t updates_accepted_ = 0;
  int64_t updates_merged_ = 0;
  int64_t telemetry_records_ = 0;
  std::optional<double> global_loss_;
  double gradient_variance_ = 0.0;
  std::vector<VersionPoint> history_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Job*> queue_;
  int64_t queued_updates_ = 0;
  bool stopping_ = false;
  std::atomic<bool> ready_{false};
  double next_agent_metrics_s_ = 0;  // writer thread only
  std::mutex shutdown_mu_;
  std::thread writer_;
};

}  // namespace edgefed::server
