#include "agent/loop/serving_keeper.hpp"

#include <span>
#include <utility>

#include "agent/loop/telemetry_recorder.hpp"
#include "agent/serve/predictor.hpp"
#include "edgefed/log.hpp"
#include "edgefed/ml/evaluator.hpp"
#include "edgefed/model_io.hpp"

namespace edgefed::agent {

ServingKeeper::ServingKeeper(std::string agent_id, const std::string& state_dir, double threshold,
                             const Clock& clock, RoundTrainer& trainer, TelemetryRecorder& recorder)
    : agent_id_(std::move(agent_id)),
      clock_(clock),
      trainer_(trainer),
      recorder_(recorder),
      serving_(state_dir),
      rule_(threshold) {}

void ServingKeeper::load() {
  if (Status st = serving_.load(); !st.is_ok())
    log::warn("serving_model_unreadable").kv("agent", agent_id_).kv("error", st.to_string());
  if (auto served = serving_.current()) {
    serving_version_ = served->validation.version;
    judged_version_ = served->validation.version;
  }
  reset_drift();
}

std::vector<ServedVersion> ServingKeeper::served_history() const {
  std::lock_guard lock(served_mu_);
  return served_;
}

Status ServingKeeper::validate_new_version(const ModelSync& sync) {
  if (!sync.has_model() || sync.version() == judged_version_) return Status::ok();
  const int64_t version = sync.version();
  judged_version_ = version;  // judged once, whatever the outcome
  // Without serving channels (no serve_version in the task) every version
  // that passes is served; with them only the one the task names.
  const bool directed = sync.has_task() && sync.task().serve_version >= 0;
  const bool install = !directed || sync.task().serve_version == version;
  if (install) tried_target_ = version;
  return judge(sync.model(), version, install, sync.has_task() ? sync.task().serve_channel : "");
}

Status ServingKeeper::follow_target(const ModelSync& sync, Link& link) {
  if (!sync.has_task()) return Status::ok();
  const int64_t target = sync.task().serve_version;
  const std::string& channel = sync.task().serve_channel;
  if (target < 0 || target == serving_version_.load() || target == tried_target_) return Status::ok();
  if (sync.has_model() && sync.version() == target) {
    tried_target_ = target;
    return judge(sync.model(), target, true, channel);
  }
  if (!link.ready()) return Status::ok();
  auto bytes = link.fetch_version(target);
  if (!bytes) {
    // Transient: tried again at the next iteration. Refused (e.g. pruned):
    // not again for this target.
    if (!retryable(bytes.status().code())) {
      tried_target_ = target;
      log::warn("serving_target_unavailable").kv("agent", agent_id_).kv("version", target).kv(
          "error", bytes.status().to_string());
    }
    return Status::ok();
  }
  tried_target_ = target;
  const std::string& b = *bytes;
  auto decoded = decode_model(std::span(reinterpret_cast<const uint8_t*>(b.data()), b.size()));
  if (!decoded || decoded->version != target) {
    log::warn("serving_target_refused")
        .kv("agent", agent_id_)
        .kv("version", target)
        .kv("error", decoded ? "the file names version " + std::to_string(decoded->version)
                             : decoded.status().to_string());
    return Status::ok();
  }
  return judge(decoded->model, target, true, channel);
}

void ServingKeeper::reset_drift() {
  const auto served = serving_.current();
  const ml::Dataset* holdout = trainer_.holdout();
  if (!served || !holdout || holdout->empty()) return;
  Predictor predictor;
  auto batch = predictor.predict(*served, *holdout);
  if (!batch) return;
  std::vector<double> outputs(batch->rows.size());
  for (size_t i = 0; i < outputs.size(); ++i) outputs[i] = batch->signal(i);
  drift_.reset(DriftMonitor::reference(served->validation.version, *holdout, outputs, served->model.normalizer.empty()));
}

Status ServingKeeper::judge(const Model& model, int64_t version, bool install, const std::string& channel) {
  auto holdout = trainer_.evaluate_holdout(model);
  if (!holdout) {
    // The trainer cannot run this model on the local data: not served.
    log::warn("validation_failed").kv("agent", agent_id_).kv("version", version).kv(
        "error", holdout.status().to_string());
    return Status::ok();
  }
  Validation candidate;
  candidate.version = version;
  if (*holdout) {
    candidate = ServingRule::validation_of(version, (*holdout)->task, (*holdout)->eval);
    if ((*holdout)->task == ml::TaskType::kAutoencoder)
      candidate.anomaly_threshold = ml::robust_threshold((*holdout)->sample_losses);
  }
  const auto served = serving_.current();
  const Verdict verdict = rule_.judge(candidate, served ? &served->validation : nullptr);
  bool installed = false;
  if (install && verdict.accept) {
    Status st = serving_.install(model, candidate, clock_.unix_ms());
    if (!st.is_ok()) {
      log::error("serving_model_not_stored").kv("agent", agent_id_).kv("version", version).kv(
          "error", st.to_string());
    } else {
      installed = true;
      serving_version_ = version;
      reset_drift();
      {
        std::lock_guard lock(served_mu_);
        served_.push_back({version, channel, clock_.unix_ms()});
      }
      log::info("model_served")
          .kv("agent", agent_id_)
          .kv("version", version)
          .kv("channel", channel)
          .kv("metric", to_string(candidate.metric))
          .kv("value", candidate.value)
          .kv("samples", candidate.samples)
          .kv("why", verdict.reason);
    }
  } else if (install) {
    ++models_rejected_;
    log::warn("model_rejected")
        .kv("agent", agent_id_)
        .kv("version", version)
        .kv("serving_version", served->validation.version)
        .kv("why", verdict.reason);
    EDGEFED_RETURN_IF_ERROR(recorder_.record_model_rejected(candidate, served->validation, verdict, rule_.threshold()));
  }
  // The served model's figure on the same holdout, for the fleet's paired
  // comparison (the version itself when nothing was served before).
  const double serving_value = served && served->validation.samples > 0 ? served->validation.value : candidate.value;
  EDGEFED_RETURN_IF_ERROR(recorder_.record_validation(candidate, installed, serving_version_.load(), serving_value));
  validated_ = true;
  return Status::ok();
}

}  // namespace edgefed::agent
