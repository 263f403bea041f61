// A strategy that turns the updates of one version into one merged delta.
// The engine feeds every accepted update of the pending buffer (or round) to
// add() and calls finish() when the version closes. Streaming strategies
// (fedavg, DP) keep O(model size); robust ones (median, trimmed mean,
// multi-Krum) keep all K updates (K x model size floats) and say so in
// memory_bytes(). docs/aggregation.md describes each strategy.
// Not thread-safe: owned by the engine's writer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/enum_names.hpp"
#include "edgefed/status.hpp"

namespace edgefed::server {

// The merge strategies (docs/aggregation.md); the names are --aggregator's.
enum class AggregatorKind { kFedAvg, kMedian, kTrimmedMean, kKrum };
inline constexpr EnumName<AggregatorKind> kAggregatorNames[] = {{AggregatorKind::kFedAvg, "fedavg"},
                                                                {AggregatorKind::kMedian, "median"},
                                                                {AggregatorKind::kTrimmedMean, "trimmed-mean"},
                                                                {AggregatorKind::kKrum, "krum"}};
constexpr std::span<const EnumName<AggregatorKind>> enum_names(AggregatorKind) { return kAggregatorNames; }

// One update as a strategy sees it.
struct Contribution {
  std::span<const float> delta;  // dense, model size, finite; valid during add() only
  double weight = 1.0;           // num_samples x s(tau), > 0
  double train_loss = 0.0;       // the agent's reported loss
  double discount = 1.0;         // s(tau) in (0, 1]: DP's bounded weight
  double norm2 = -1.0;           // ||delta||^2 if known, else negative (computed where needed)
};

// What a closed buffer produced.
struct Aggregate {
  std::vector<float> delta;        // the merged delta, before the server optimizer
  int64_t count = 0;               // updates merged
  double total_weight = 0.0;       // sum of weights
  double weighted_loss = 0.0;      // sum w loss / W
  double gradient_variance = 0.0;  // sum w ||d - mean||^2 / W
  int64_t clipped = 0;             // updates scaled down to the clip norm
  double noise_stddev = 0.0;       // DP: Gaussian noise per coordinate of delta (0 = none)
};

class Aggregator {
 public:
  virtual ~Aggregator() = default;
  // REQUIRES: c.delta.size() == dim(), c.weight > 0, 0 < c.discount <= 1.
  virtual void add(const Contribution& c) = 0;
  virtual int64_t count() const = 0;
  virtual size_t dim() const = 0;
  // The merged delta of everything added since the last reset, for version
  // `round` (strategies that draw noise derive their stream from it).
  // kUnprocessable if fewer than min_count() were added. Does not reset.
  virtual Result<Aggregate> finish(int64_t round) = 0;
  // The fewest updates finish() can merge (multi-Krum needs 2f + 3).
  virtual int64_t min_count() const { return 1; }
  // Drops everything added; a new dimension when the layout changed.
  virtual void reset(size_t dim) = 0;
  // Bytes of update data held (the memory contract of the strategy).
  virtual size_t memory_bytes() const = 0;
  virtual std::string_view name() const = 0;
};

// How the engine configures its strategy (check_aggregator validates it).
struct AggregatorOptions {
  AggregatorKind kind = AggregatorKind::kFedAvg;
  double trim_beta = 0.1;            // trimmed-mean: drop floor(beta n) per side, [0, 0.5)
  int64_t krum_f = 1;                // krum: hostile updates assumed per version, >= 0
  int64_t krum_m = 0;                // krum: updates averaged after selection (0 = n - f)
  int threads = 1;                   // kernel threads for the buffered strategies, >= 1
  double clip_norm = 0.0;            // clip each update to this L2 norm (0 = off)
  double dp_noise_multiplier = 0.0;  // z > 0: DP-FedAvg (fedavg only, clip_norm > 0)
  uint64_t dp_seed = 0;              // noise seed (0 = std::random_device)
  int64_t expected_count = 0;        // K: updates per version (buffer sizing; DP denominator)
};

// kInvalidArgument (naming the field) for values out of range and
// combinations the mathematics does not allow. Pure: builds nothing.
Status check_aggregator(const AggregatorOptions& options);
// check_aggregator(), then the strategy for `dim` floats (reset() moves it
// to another dimension).
Result<std::unique_ptr<Aggregator>> make_aggregator(const AggregatorOptions& options, size_t dim);
// Plain `kind` with default options.
Result<std::unique_ptr<Aggregator>> make_aggregator(AggregatorKind kind, size_t dim);

}  // namespace edgefed::server
