#include "server/aggregation/server_optimizer.hpp"

#include <cmath>

#include "server/aggregation/adaptive_optimizer.hpp"

namespace edgefed::server {

namespace {

bool unit_interval(double x) { return std::isfinite(x) && x >= 0 && x < 1; }

}  // namespace

void SgdServerOptimizer::apply(std::span<float> params, std::span<const float> delta) {
  // In double so that lr * delta is rounded once, like the reference formula.
  for (size_t i = 0; i < params.size(); ++i) {
    params[i] = static_cast<float>(static_cast<double>(params[i]) + lr_ * static_cast<double>(delta[i]));
  }
}

Status check_server_optimizer(const ServerOptimizerOptions& o) {
  auto bad = [](const std::string& message) { return Status(Code::kInvalidArgument, message); };
  if (!(std::isfinite(o.lr) && o.lr > 0)) return bad("server_lr must be > 0");
  switch (o.kind) {
    case ServerOptimizerKind::kSgd:
      break;
    case ServerOptimizerKind::kFedAvgM:
      if (!unit_interval(o.momentum)) return bad("server_momentum must be in [0, 1)");
      break;
    case ServerOptimizerKind::kFedAdagrad:
    case ServerOptimizerKind::kFedAdam:
    case ServerOptimizerKind::kFedYogi:
      if (!unit_interval(o.beta1)) return bad("server_beta1 must be in [0, 1)");
      if (!unit_interval(o.beta2)) return bad("server_beta2 must be in [0, 1)");
      if (!(std::isfinite(o.tau) && o.tau > 0)) return bad("server_tau must be > 0");
      break;
  }
  return Status::ok();
}

Result<std::unique_ptr<ServerOptimizer>> make_server_optimizer(const ServerOptimizerOptions& o) {
  if (Status st = check_server_optimizer(o); !st.is_ok()) return st;
  if (o.kind == ServerOptimizerKind::kSgd) return std::unique_ptr<ServerOptimizer>(std::make_unique<SgdServerOptimizer>(o.lr));
  return std::unique_ptr<ServerOptimizer>(std::make_unique<AdaptiveServerOptimizer>(o.kind, o));
}

Result<std::unique_ptr<ServerOptimizer>> make_server_optimizer(ServerOptimizerKind kind, double lr) {
  ServerOptimizerOptions o;
  o.kind = kind;
  o.lr = lr;
  return make_server_optimizer(o);
}

}  // namespace edgefed::server
