#include "server/eval/evaluator.hpp"

#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>

#include "agent/data/idx_reader.hpp"
#include "agent/trainer/trainer.hpp"
#include "edgefed/log.hpp"

namespace edgefed::server::eval {
namespace {
constexpr size_t kKeep = 2000;  // versions whose results /v1/status can show
}  // namespace

Evaluator::Evaluator(std::shared_ptr<prometheus::Registry> registry)
    : registry_(registry ? std::move(registry) : std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  // Same family as the engine's reported loss (same name and help: the
  // registry merges them), told apart by the source label.
  loss_ = &prometheus::BuildGauge().Name("edgefed_global_loss")
               .Help("Global training loss: sample-weighted mean of the losses agents reported for the newest "
                     "version (source=reported).")
               .Register(r).Add({{"source", "eval"}});
  accuracy_ = &prometheus::BuildGauge().Name("edgefed_global_accuracy")
                   .Help("Accuracy (ratio 0-1) of the newest evaluated version on the server's held-out set.")
                   .Register(r).Add({});
  version_ = &prometheus::BuildGauge().Name("edgefed_eval_version")
                  .Help("Model version the eval loss and accuracy belong to.").Register(r).Add({});
  seconds_ = &prometheus::BuildHistogram().Name("edgefed_eval_seconds")
                  .Help("Wall time of one server-side evaluation.")
                  .Register(r).Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
}

Result<std::unique_ptr<Evaluator>> Evaluator::open(const EvalOptions& options,
                                                   std::shared_ptr<prometheus::Registry> registry) {
  std::unique_ptr<std::vector<uint32_t>> rows;
  if (options.max_samples > 0) {
    auto labels = agent::read_idx_labels(options.data_dir, agent::IdxSplit::kTest);
    if (!labels.is_ok()) return labels.status();
    const size_t n = std::min<size_t>(labels->size(), static_cast<size_t>(options.max_samples));
    rows = std::make_unique<std::vector<uint32_t>>(n);
    for (size_t i = 0; i < n; ++i) (*rows)[i] = static_cast<uint32_t>(i);
  }
  auto store = agent::load_idx(options.data_dir, agent::IdxSplit::kTest, rows.get());
  if (!store.is_ok()) return store.status();
  std::unique_ptr<Evaluator> e(new Evaluator(std::move(registry)));
  e->data_ = std::make_shared<const agent::DataStore>(std::move(store).value());
  return e;
}

int64_t Evaluator::samples() const { return data_->size(); }

Status Evaluator::evaluate(int64_t version, const Model& model) {
  const auto t0 = std::chrono::steady_clock::now();
  auto trainer = agent::Trainer::create(model.layout);
  if (!trainer.is_ok()) return trainer.status();
  auto r = trainer->evaluate(model, agent::Dataset(data_));
  if (!r.is_ok()) return r.status();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  loss_->Set(r->loss);
  accuracy_->Set(r->accuracy);
  version_->Set(static_cast<double>(version));
  seconds_->Observe(seconds);
  log::info("version_evaluated").kv("version", version).kv("loss", r->loss).kv("accuracy", r->accuracy)
      .kv("samples", r->num_samples).kv("seconds", seconds);
  std::lock_guard<std::mutex> lock(mu_);
  results_[version] = {r->loss, r->accuracy};
  while (results_.size() > kKeep) results_.erase(results_.begin());
  if (!newest_ || version > *newest_) newest_ = version;
  return Status::ok();
}

std::optional<EvalPoint> Evaluator::result(int64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = results_.find(version);
  if (it == results_.end()) return std::nullopt;
  return it->second;
}

void Evaluator::decorate(ServerStatus& s) const {
  std::lock_guard<std::mutex> lock(mu_);
  s.loss_source = "eval";
  if (newest_) {
    const EvalPoint& p = results_.at(*newest_);
    s.global_loss = p.loss;
    s.global_accuracy = p.accuracy;
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
    h.accuracy = it->second.accuracy;
  }
}

}  // namespace edgefed::server::eval
