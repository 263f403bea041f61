#include "server/eval/version_evaluator.hpp"

#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>

#include "edgefed/log.hpp"
#include "edgefed/ml/evaluator.hpp"

namespace edgefed::server::eval {
namespace {
constexpr size_t kKeep = 2000;  // versions whose results /v1/status can show
}  // namespace

VersionEvaluator::VersionEvaluator(std::unique_ptr<ml::Evaluator> evaluator,
                                   std::shared_ptr<prometheus::Registry> registry)
    : registry_(registry ? std::move(registry) : std::make_shared<prometheus::Registry>()),
      evaluator_(std::move(evaluator)) {
  auto& r = *registry_;
  // Same family as the engine's reported loss (same name and help: the
  // registry merges them), told apart by the source label.
  loss_ = &prometheus::BuildGauge().Name("edgefed_global_loss")
               .Help("Global training loss: sample-weighted mean of the losses agents reported for the newest "
                     "version (source=reported).")
               .Register(r).Add({{"source", "eval"}});
  version_ = &prometheus::BuildGauge().Name("edgefed_eval_version")
                  .Help("Model version the eval loss and accuracy belong to.").Register(r).Add({});
  seconds_ = &prometheus::BuildHistogram().Name("edgefed_eval_seconds")
                  .Help("Wall time of one server-side evaluation.")
                  .Register(r).Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
}

Result<std::unique_ptr<VersionEvaluator>> VersionEvaluator::open(const EvalOptions& options,
                                                                 std::shared_ptr<prometheus::Registry> registry) {
  auto evaluator = ml::Evaluator::open(options.data_dir, options.max_samples);
  if (!evaluator.is_ok()) return evaluator.status();
  return std::unique_ptr<VersionEvaluator>(new VersionEvaluator(
      std::make_unique<ml::Evaluator>(std::move(evaluator).value()), std::move(registry)));
}

VersionEvaluator::~VersionEvaluator() = default;

int64_t VersionEvaluator::samples() const { return evaluator_->samples(); }

Status VersionEvaluator::evaluate(int64_t version, const Model& model) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = evaluator_->evaluate(model);
  if (!r.is_ok()) return r.status();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string task(enum_name(evaluator_->task()));
  EvalPoint p{task, r->loss, r->accuracy, r->mae, r->rmse, r->anomaly_share};
  loss_->Set(r->loss);
  auto gauge = [this](prometheus::Gauge*& g, const char* name, const char* help) -> prometheus::Gauge& {
    if (!g) g = &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
    return *g;
  };
  if (evaluator_->task() == ml::TaskType::kClassification) {
    gauge(accuracy_, "edgefed_global_accuracy",
          "Accuracy (ratio 0-1) of the newest evaluated version on the server's held-out set.").Set(r->accuracy);
  } else if (evaluator_->task() == ml::TaskType::kRegression) {
    gauge(mae_, "edgefed_global_mae",
          "Regression: mean absolute error of the newest evaluated version on the held-out set, in the data's units.")
        .Set(r->mae);
    gauge(rmse_, "edgefed_global_rmse", "Regression: root mean squared error, likewise.").Set(r->rmse);
  } else {
    gauge(anomaly_share_, "edgefed_global_anomaly_share",
          "Autoencoder: share (ratio 0-1) of held-out samples whose reconstruction error is above the anomaly "
          "threshold.").Set(r->anomaly_share);
  }
  version_->Set(static_cast<double>(version));
  seconds_->Observe(seconds);
  log::info("version_evaluated").kv("version", version).kv("task", task).kv("loss", r->loss)
      .kv("accuracy", r->accuracy).kv("mae", r->mae).kv("anomaly_share", r->anomaly_share)
      .kv("samples", r->num_samples).kv("seconds", seconds)
      .kv("scaled_by", evaluator_->used_model_normalizer() ? "model" : "held_out");
  std::lock_guard<std::mutex> lock(mu_);
  results_[version] = p;
  while (results_.size() > kKeep) results_.erase(results_.begin());
  if (!newest_ || version > *newest_) newest_ = version;
  return Status::ok();
}

std::optional<EvalPoint> VersionEvaluator::result(int64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = results_.find(version);
  if (it == results_.end()) return std::nullopt;
  return it->second;
}

void VersionEvaluator::decorate(ServerStatus& s) const {
  std::lock_guard<std::mutex> lock(mu_);
  s.loss_source = "eval";
  if (newest_) {
    const EvalPoint& p = results_.at(*newest_);
    s.global_loss = p.loss;
    s.task = p.task;
    if (p.task == "classification") {
      s.global_accuracy = p.accuracy;
    } else {
      s.global_accuracy.reset();
      if (p.task == "regression") {
        s.global_mae = p.mae;
        s.global_rmse = p.rmse;
      } else {
        s.global_anomaly_share = p.anomaly_share;
      }
    }
  } else {
    s.global_loss.reset();
  }
  for (auto& h : s.history) {
    auto it = results_.find(h.version);
    if (it == results_.end()) {
      h.loss.reset();  // only evaluated points: one kind of loss per chart
      continue;
    }
    h.loss = it->second.loss;
    if (it->second.task == "classification") h.accuracy = it->second.accuracy;
    else h.accuracy.reset();
    if (it->second.task == "regression") h.mae = it->second.mae;
  }
}

}  // namespace edgefed::server::eval
