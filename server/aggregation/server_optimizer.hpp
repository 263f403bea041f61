// Applies a merged delta to the global model (Reddi et al. 2021, "Adaptive
// Federated Optimization", Algorithm 2): params <- params + step(delta), the
// merged delta acting as the pseudo-gradient. SGD keeps no state; FedAvgM,
// FedAdagrad, FedAdam and FedYogi keep per-parameter moments, which the
// engine stores with each version (state()/restore()) so a restart resumes
// them exactly. adaptive_optimizer.hpp has the formulas.
// Not thread-safe: owned by the engine's writer thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "edgefed/enum_names.hpp"
#include "edgefed/status.hpp"

namespace edgefed::server {

// The server optimizers; the names are --server-optimizer's.
enum class ServerOptimizerKind { kSgd, kFedAvgM, kFedAdagrad, kFedAdam, kFedYogi };
inline constexpr EnumName<ServerOptimizerKind> kServerOptimizerNames[] = {
    {ServerOptimizerKind::kSgd, "sgd"},
    {ServerOptimizerKind::kFedAvgM, "fedavgm"},
    {ServerOptimizerKind::kFedAdagrad, "fedadagrad"},
    {ServerOptimizerKind::kFedAdam, "fedadam"},
    {ServerOptimizerKind::kFedYogi, "fedyogi"}};
constexpr std::span<const EnumName<ServerOptimizerKind>> enum_names(ServerOptimizerKind) {
  return kServerOptimizerNames;
}

class ServerOptimizer {
 public:
  virtual ~ServerOptimizer() = default;
  // REQUIRES: params.size() == delta.size().
  virtual void apply(std::span<float> params, std::span<const float> delta) = 0;
  // Opaque state to checkpoint with the version ("" for stateless ones and
  // before the first apply()).
  virtual std::string state() const = 0;
  // Restores state() output ("" = fresh); kInvalidArgument if it does not
  // fit (another optimizer's state, corrupt bytes), leaving a fresh state.
  virtual Status restore(std::string_view state) = 0;
  // Forget the state (new layout, rollback).
  virtual void reset() = 0;
  virtual std::string_view name() const = 0;
};

// params += lr * delta. lr = 1 is plain FedAvg.
class SgdServerOptimizer final : public ServerOptimizer {
 public:
  explicit SgdServerOptimizer(double lr) : lr_(lr) {}
  void apply(std::span<float> params, std::span<const float> delta) override;
  std::string state() const override { return {}; }
  Status restore(std::string_view) override { return Status::ok(); }
  void reset() override {}
  std::string_view name() const override { return enum_name(ServerOptimizerKind::kSgd); }
  double lr() const { return lr_; }

 private:
  double lr_;
};

struct ServerOptimizerOptions {
  ServerOptimizerKind kind = ServerOptimizerKind::kSgd;
  double lr = 1.0;         // > 0
  double momentum = 0.9;   // fedavgm, [0, 1)
  double beta1 = 0.9;      // adaptive first moment, [0, 1)
  double beta2 = 0.99;     // fedadam / fedyogi second moment, [0, 1)
  double tau = 1e-3;       // adaptivity (> 0): step = lr m / (sqrt(v) + tau)
};

// kInvalidArgument for parameters out of range. Pure: builds nothing.
Status check_server_optimizer(const ServerOptimizerOptions& options);
// check_server_optimizer(), then the optimizer.
Result<std::unique_ptr<ServerOptimizer>> make_server_optimizer(const ServerOptimizerOptions& options);
// Shorthand for callers that only know a kind and a rate.
Result<std::unique_ptr<ServerOptimizer>> make_server_optimizer(ServerOptimizerKind kind, double lr);

}  // namespace edgefed::server
