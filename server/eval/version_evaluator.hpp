// Server-side evaluation of each new model version on a held-out set (the
// Fashion-MNIST test split, or any agent data spec: --eval-data) with
// ml::Evaluator, run by the VersionFollower's thread: off the I/O threads
// and the engine's writer. Sets
//   edgefed_global_loss{source="eval"}, edgefed_eval_version,
//   edgefed_eval_seconds (histogram), and by the model's task:
//   classification  edgefed_global_accuracy
//   regression      edgefed_global_mae, edgefed_global_rmse
//   autoencoder     edgefed_global_anomaly_share
// (a series appears with the first result of its task), and decorates
// /v1/status (loss_source "eval", task, the metrics, accuracy or MAE per
// version).
// Without an evaluator the engine's edgefed_global_loss{source="reported"}
// (the sample-weighted train loss agents reported) is the only loss.
//
// Thread safety: evaluate() from one thread; decorate() from any.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"

namespace prometheus {
class Registry;
class Gauge;
class Histogram;
}  // namespace prometheus

// Declared only: edgefed_ml (and Eigen) stay private to this component.
namespace edgefed::ml {
class Evaluator;
}  // namespace edgefed::ml

namespace edgefed::server::eval {

struct EvalOptions {
  // A directory holding t10k-{images-idx3,labels-idx1}-ubyte.gz, or an agent
  // data spec (idx:, csv:, series:; ml::Evaluator::open).
  std::string data_dir;
  int64_t max_samples = 0;  // first N test samples; 0 = all
};

struct EvalPoint {
  std::string task;  // "classification", "regression" or "autoencoder"
  double loss = 0;
  double accuracy = 0;       // classification
  double mae = 0, rmse = 0;  // regression
  double anomaly_share = 0;  // autoencoder
};

class VersionEvaluator {
 public:
  // Loads the held-out set: kIo / kInvalidArgument from the IDX reader.
  static Result<std::unique_ptr<VersionEvaluator>> open(const EvalOptions& options,
                                                 std::shared_ptr<prometheus::Registry> registry);
  ~VersionEvaluator();

  // Evaluates one version; errors (layout not an MLP, input width differs
  // from the data) are returned and logged by the caller.
  Status evaluate(int64_t version, const Model& model);
  std::optional<EvalPoint> result(int64_t version) const;
  void decorate(ServerStatus& status) const;
  int64_t samples() const;

 private:
  VersionEvaluator(std::unique_ptr<ml::Evaluator> evaluator, std::shared_ptr<prometheus::Registry> registry);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* loss_;
  prometheus::Gauge* accuracy_ = nullptr;  // added with the first result of its task
  prometheus::Gauge* mae_ = nullptr;
  prometheus::Gauge* rmse_ = nullptr;
  prometheus::Gauge* anomaly_share_ = nullptr;
  prometheus::Gauge* version_;
  prometheus::Histogram* seconds_;
  std::unique_ptr<ml::Evaluator> evaluator_;  // used by evaluate()'s one thread only
  mutable std::mutex mu_;
  std::map<int64_t, EvalPoint> results_;  // bounded: newest kKeep
  std::optional<int64_t> newest_;
};

}  // namespace edgefed::server::eval
