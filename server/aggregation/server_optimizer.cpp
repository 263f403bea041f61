#include "server/aggregation/server_optimizer.hpp"

#include <cmath>

#include "server/aggregation/adaptive_optimizer.hpp"

namespace edgefed::server {

namespace {

using OptimizerResult = Result<std::unique_ptr<ServerOptimizer>>;

bool unit_interval(double x) { return std::isfinite(x) && x >= 0 && x < 1; }

}  // namespace

void SgdServerOptimizer::apply(std::span<float> params, std::span<const float> delta) {
  // In double so that lr * delta is rounded once, like the reference formula.
  for (size_t i = 0; i < params.size(); ++i) {
    params[i] = static_cast<float>(static_cast<double>(params[i]) + lr_ * static_cast<double>(delta[i]));
  }
}

Result<std::unique_ptr<ServerOptimizer>> make_server_optimizer(const ServerOptimizerOptions& o) {
  if (!(std::isfinite(o.lr) && o.lr > 0)) return OptimizerResult(Code::kInvalidArgument, "server_lr must be > 0");
  using Kind = AdaptiveServerOptimizer::Kind;
  Kind kind;
  if (o.name == "sgd") {
    return std::unique_ptr<ServerOptimizer>(std::make_unique<SgdServerOptimizer>(o.lr));
  } else if (o.name == "fedavgm") {
    kind = Kind::kAvgM;
    if (!unit_interval(o.momentum)) return OptimizerResult(Code::kInvalidArgument, "server_momentum must be in [0, 1)");
  } else if (o.name == "fedadagrad" || o.name == "fedadam" || o.name == "fedyogi") {
    kind = o.name == "fedadagrad" ? Kind::kAdagrad : o.name == "fedadam" ? Kind::kAdam : Kind::kYogi;
    if (!unit_interval(o.beta1)) return OptimizerResult(Code::kInvalidArgument, "server_beta1 must be in [0, 1)");
    if (!unit_interval(o.beta2)) return OptimizerResult(Code::kInvalidArgument, "server_beta2 must be in [0, 1)");
    if (!(std::isfinite(o.tau) && o.tau > 0)) return OptimizerResult(Code::kInvalidArgument, "server_tau must be > 0");
  } else {
    return OptimizerResult(Code::kInvalidArgument, "server optimizer must be sgd, fedavgm, fedadagrad, fedadam or "
                                                   "fedyogi, not '" + o.name + "'");
  }
  return std::unique_ptr<ServerOptimizer>(std::make_unique<AdaptiveServerOptimizer>(kind, o));
}

Result<std::unique_ptr<ServerOptimizer>> make_server_optimizer(const std::string& name, double lr) {
  ServerOptimizerOptions o;
  o.name = name;
  o.lr = lr;
  return make_server_optimizer(o);
}

}  // namespace edgefed::server
