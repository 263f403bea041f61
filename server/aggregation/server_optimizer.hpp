// Applies a merged delta to the global model (Reddi et al., "Adaptive
// Federated Optimization"): params <- params + step(merged delta). Plain SGD
// with a server learning rate now; FedAvgM/FedAdagrad/FedAdam/FedYogi (issue
// 5) keep state, which the engine stores with each version (state()/restore())
// so a restart resumes them exactly.
// Not thread-safe: owned by the engine's writer thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "edgefed/status.hpp"

namespace edgefed::server {

class ServerOptimizer {
 public:
  virtual ~ServerOptimizer() = default;
  // REQUIRES: params.size() == delta.size().
  virtual void apply(std::span<float> params, std::span<const float> delta) = 0;
  // Opaque state to checkpoint with the version ("" for stateless ones).
  virtual std::string state() const = 0;
  // Restores state() output; kInvalidArgument if it does not fit.
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
  std::string_view name() const override { return "sgd"; }
  double lr() const { return lr_; }

 private:
  double lr_;
};

// "sgd"; kInvalidArgument for unknown names or lr <= 0.
Result<std::unique_ptr<ServerOptimizer>> make_server_optimizer(const std::string& name, double lr);

}  // namespace edgefed::server
