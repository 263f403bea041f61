// A strategy that turns the updates of one version into one merged delta.
// The engine feeds every accepted update of the pending buffer (or round) to
// add() and calls finish() when the version closes. Streaming strategies
// (FedAvg/FedBuff) keep O(model size); robust ones (median, trimmed mean,
// Krum: issue 5) may keep all K updates and must say so in memory_bytes().
// Not thread-safe: owned by the engine's writer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::server {

// One update as a strategy sees it.
struct Contribution {
  std::span<const float> delta;  // dense, model size; valid during add() only
  double weight = 1.0;           // num_samples x s(tau), > 0
  double train_loss = 0.0;       // the agent's reported loss
};

// What a closed buffer produced.
struct Aggregate {
  std::vector<float> delta;        // the merged delta, before the server optimizer
  int64_t count = 0;               // updates merged
  double total_weight = 0.0;       // sum of weights
  double weighted_loss = 0.0;      // sum w loss / W
  double gradient_variance = 0.0;  // sum w ||d - mean||^2 / W
};

class Aggregator {
 public:
  virtual ~Aggregator() = default;
  // REQUIRES: c.delta.size() == dim(), c.weight > 0.
  virtual void add(const Contribution& c) = 0;
  virtual int64_t count() const = 0;
  virtual size_t dim() const = 0;
  // The merged delta of everything added since the last reset.
  // kUnprocessable if nothing was added. Does not reset.
  virtual Result<Aggregate> finish() const = 0;
  // Drops everything added; a new dimension when the layout changed.
  virtual void reset(size_t dim) = 0;
  // Bytes of update data held (the memory contract of the strategy).
  virtual size_t memory_bytes() const = 0;
  virtual std::string_view name() const = 0;
};

// "fedavg" (used by both sync FedAvg and async FedBuff: the weights differ,
// the arithmetic does not). kInvalidArgument for unknown names.
Result<std::unique_ptr<Aggregator>> make_aggregator(const std::string& name, size_t dim);

}  // namespace edgefed::server
