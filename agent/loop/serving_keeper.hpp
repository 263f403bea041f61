// The agent's serving decisions (agent/serve/ holds the parts): which
// global version the device's application is served. Every new global
// version the agent holds is validated on the local holdout against the
// served model; with serving channels the task names the version to serve
// (the canary or the stable one), fetched with GET /v1/versions/N/model when
// it is not the one held, and served only if the local validation agrees.
// Each validation becomes `validation` telemetry (and `model_rejected` for
// a refused install); the served model is persisted (ServingModel) and the
// drift monitor restarts from its holdout reference.
//
// Thread safety: load(), validate_new_version() and follow_target() on the
// loop's thread; serving_version(), served_history(), models_rejected(),
// serving() and drift() from any thread. Errors: telemetry and disk
// failures are returned (the loop tolerates transient ones like the
// outbox's); a version that cannot be validated or fetched is logged and
// not served. Borrows the trainer, recorder and clock (they outlive it).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/link/link.hpp"
#include "agent/loop/model_sync.hpp"
#include "agent/loop/round_trainer.hpp"
#include "agent/serve/drift_monitor.hpp"
#include "agent/serve/serving_model.hpp"
#include "agent/serve/serving_rule.hpp"
#include "edgefed/clock.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

class TelemetryRecorder;

// One version the agent began to serve, and the channel the server named
// for it ("canary", "stable"; "" without serving channels).
struct ServedVersion {
  int64_t version = -1;
  std::string channel;
  int64_t unix_ms = 0;
};

class ServingKeeper {
 public:
  ServingKeeper(std::string agent_id, const std::string& state_dir, double threshold, const Clock& clock,
                RoundTrainer& trainer, TelemetryRecorder& recorder);

  // Loads the persisted serving model (an unreadable one is logged: nothing
  // is served until a version passes) and its drift reference.
  void load();
  // Validates the global model `sync` holds if it is a version not judged
  // yet; serves it unless the rule refuses it or the task names another
  // version to serve.
  Status validate_new_version(const ModelSync& sync);
  // When the task names a version to serve that is not served yet: gets it
  // (the model held, or from `link`), validates it, serves it unless the
  // rule refuses it. Once per target; a transient fetch failure retries.
  Status follow_target(const ModelSync& sync, Link& link);
  // True once after a validation was recorded: the fleet's canary decision
  // waits for it, so the loop posts telemetry now.
  bool take_validated() { return std::exchange(validated_, false); }

  int64_t serving_version() const { return serving_version_.load(); }
  int64_t models_rejected() const { return models_rejected_.load(); }
  std::vector<ServedVersion> served_history() const;
  const ServingModel& serving() const { return serving_; }
  DriftMonitor& drift() { return drift_; }

 private:
  Status judge(const Model& model, int64_t version, bool install, const std::string& channel);
  void reset_drift();

  const std::string agent_id_;
  const Clock& clock_;
  RoundTrainer& trainer_;
  TelemetryRecorder& recorder_;
  ServingModel serving_;
  ServingRule rule_;
  DriftMonitor drift_;
  int64_t judged_version_ = -1;  // the last global version validated
  int64_t tried_target_ = -1;    // the last serving target the task named and we tried
  bool validated_ = false;
  std::atomic<int64_t> serving_version_{-1};
  std::atomic<int64_t> models_rejected_{0};
  mutable std::mutex served_mu_;
  std::vector<ServedVersion> served_;  // under served_mu_
};

}  // namespace edgefed::agent
