#include "server/aggregation/server_optimizer.hpp"

#include <cmath>

namespace edgefed::server {

void SgdServerOptimizer::apply(std::span<float> params, std::span<const float> delta) {
  // In double so that lr * delta is rounded once, like the reference formula.
  for (size_t i = 0; i < params.size(); ++i) {
    params[i] = static_cast<float>(static_cast<double>(params[i]) + lr_ * static_cast<double>(delta[i]));
  }
}

Result<std::unique_ptr<ServerOptimizer>> make_server_optimizer(const std::string& name, double lr) {
  if (!(std::isfinite(lr) && lr > 0)) {
    return Result<std::unique_ptr<ServerOptimizer>>(Code::kInvalidArgument, "server_lr must be > 0");
  }
  if (name == "sgd") return std::unique_ptr<ServerOptimizer>(std::make_unique<SgdServerOptimizer>(lr));
  return Result<std::unique_ptr<ServerOptimizer>>(Code::kInvalidArgument,
                                                  "unknown server optimizer '" + name + "'");
}

}  // namespace edgefed::server
