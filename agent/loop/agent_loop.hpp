// The edgefed agent: pull task and model -> train -> delta -> encode -> outbox
// -> forward, plus telemetry; a library class so edgefed-agent's main() runs
// one and edgefed-sim runs many (threads, one per agent, each with its own
// state dir, outbox, certificate and TLS connection).
//
//   auto agent = AgentLoop::create(config, std::move(seams));
//   std::thread t([&] { (*agent)->run(); });
//   ...
//   (*agent)->stop(); t.join();
//
// While the link is down the agent keeps training on the latest model it
// holds (also after a restart: the model is cached in the state dir) and
// queues updates and telemetry in the outbox; when the link recovers it
// forwards everything, oldest first, and fetches the newer model.
// Sync mode (task.mode == MergeMode::kSync): one update per model version; then it
// long-polls for the next version. Async mode: trains back to back.
// Secure aggregation (task.secure_aggregation == secagg+): instead of a
// plain update, each round joins a session before training, stores the
// round in the outbox and takes part in the session until it ends
// (SecAggDriver, secagg_driver.hpp); a stored round is finished before the
// next one is trained, also after a restart.
//
// Serving: every new global version is validated on the local holdout
// before it may replace the model served to the device's application
// (serving(); the optional Unix-socket endpoint, config.predict_socket);
// see agent/serve/. Training always continues on the newest global model.
//
// Thread safety: run()/run_once() on one thread; stop() and snapshot() from
// any thread. Failure: create() fails with the reason (bad config, unreadable
// files, state dir locked by another agent); run() returns only on stop()
// or when the outbox file is unusable (kIo: corrupt, unreadable). A
// transient outbox failure (disk full, failed fsync: kUnavailable) is
// logged and counted, and the loop goes on: that round's update or record
// is not stored, everything the outbox acknowledged before stays.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/link/link.hpp"
#include "agent/loop/agent_config.hpp"
#include "agent/loop/forwarder.hpp"
#include "agent/loop/model_sync.hpp"
#include "agent/loop/round_trainer.hpp"
#include "agent/outbox/outbox.hpp"
#include "agent/loop/serving_keeper.hpp"
#include "agent/serve/predict_server.hpp"

namespace edgefed::agent {

class TelemetryRecorder;  // telemetry_recorder.hpp (private to this component)
class SecAggDriver;       // secagg_driver.hpp (private to this component)
struct SecAggStep;

struct AgentSnapshot {
  LinkState link = LinkState::kUnknown;
  int64_t rounds = 0;          // rounds trained since start
  int64_t model_version = -1;  // of the model held (the training base)
  int64_t serving_version = -1;  // of the model served (-1: none yet)
  int64_t models_rejected = 0;   // versions refused for serving since start
  double last_loss = 0;
  OutboxDepth depth;
  JournalCounts journal;
  // Outbox calls that failed transiently (disk full, failed fsync, busy)
  // and were skipped while the loop went on.
  int64_t outbox_failures = 0;
};

class AgentLoop {
 public:
  static Result<std::unique_ptr<AgentLoop>> create(AgentConfig config, AgentSeams seams = {});
  ~AgentLoop();
  AgentLoop(const AgentLoop&) = delete;
  AgentLoop& operator=(const AgentLoop&) = delete;

  // Runs until stop(). kIo if the outbox file is unusable.
  Status run();
  // One round: get a plan, train once, forward until the outbox is empty.
  // kUnavailable if no model could be had or the outbox did not drain within
  // once_timeout_ms (what was produced stays queued for the next start);
  // kUnprocessable if the server refused an update for good (4xx).
  Status run_once();
  // Thread-safe; wakes any wait. run() returns soon after (a request in
  // flight finishes first; its timeouts bound the delay).
  void stop();
  bool stopping() const { return stop_.load(); }

  // Thread-safe. Off: no new training rounds and no periodic system records,
  // while queued records keep being forwarded (a simulator's final drain, a
  // device told to stop learning). On by default.
  void set_training(bool on) { training_ = on; }

  AgentSnapshot snapshot() const;  // thread-safe
  Outbox& outbox() { return *outbox_; }
  // The served model; current() is thread-safe.
  const ServingModel& serving() const { return serving_->serving(); }
  // The version served now (-1: none). Thread-safe and cheap.
  int64_t serving_version() const { return serving_->serving_version(); }
  // Drift of the application's prediction traffic (thread-safe).
  DriftMonitor& drift() { return serving_->drift(); }
  // Every version served since start, in order. Thread-safe.
  std::vector<ServedVersion> served_history() const { return serving_->served_history(); }
  const AgentConfig& config() const { return config_; }

 private:
  AgentLoop(AgentConfig config, AgentSeams seams);
  Status init();
  Status iterate();           // one pass of run()
  // st, or ok (logged, counted) when it is a transient outbox failure.
  Status tolerate(Status st, const char* what);
  void refresh_plan(bool long_poll);
  bool should_train() const;
  // Trains on the model held, stores the encoded update and its train
  // record in the outbox. A failed round is logged and skipped (ok); the
  // outbox's failures are returned.
  Status train_round();
  // Secure aggregation: the session to train for (nullopt: not this time;
  // logged, and the plan refreshed or the version skipped as the answer says).
  std::optional<std::string> join_secagg(int64_t base, uint64_t vector_length);
  // Stores the trained round (snapshot + delta) and records it like an update.
  Status start_secagg_round(const std::string& session, int64_t base, RoundResult& r);
  // One step of the stored secure aggregation round; an ended round is
  // accounted for (sync mode: an aborted round's version may be trained again).
  Status drive_secagg();
  // run_once(): drives the stored round until it ends; kUnavailable if it
  // did not end "done" by `deadline_ms` (monotonic).
  Status drive_secagg_to_end(int64_t deadline_ms);
  void secagg_ended(const SecAggStep& step);
  // "system" (and drift) records when due.
  Status record_periodic();
  Status forward(bool flush_telemetry);
  // The serving keeper's two steps for the model and task held; a recorded
  // validation makes the next forward post telemetry at once.
  Status update_serving();
  void sleep_ms(int64_t ms);
  const Clock& clock() const { return *clock_; }

  AgentConfig config_;
  AgentSeams seams_;
  const Clock* clock_;
  int lock_fd_ = -1;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Link> link_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<RoundTrainer> trainer_;
  std::unique_ptr<ModelSync> sync_;
  std::unique_ptr<TelemetryRecorder> recorder_;  // borrows outbox_ and link_
  std::unique_ptr<ServingKeeper> serving_;        // borrows trainer_ and recorder_
  std::unique_ptr<PredictServer> predict_server_;  // borrows serving_'s model and drift monitor
  std::unique_ptr<SecAggDriver> secagg_;           // borrows outbox_ and link_
  int64_t last_sync_version_ = -1;   // sync mode: version already trained
  int64_t secagg_full_version_ = -1; // sync mode: the version whose secure aggregation round was full
  int64_t paced_version_ = -1;       // fleet time: the model version last downloaded
  RoundTraffic round_traffic_;       // fleet time: what this iteration's round moved
  int64_t next_system_ms_ = 0;       // monotonic
  int64_t next_telemetry_ms_ = 0;    // monotonic: next telemetry POST due
  int64_t task_fetched_ms_ = -1;     // monotonic time of the last GET /v1/task
  std::string last_plan_error_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> training_{true};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  std::atomic<int64_t> rounds_{0};
  std::atomic<int64_t> outbox_failures_{0};
  std::atomic<int64_t> model_version_{-1};
  std::atomic<double> last_loss_{0};
};

}  // namespace edgefed::agent
