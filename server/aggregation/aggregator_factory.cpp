// make_aggregator: option checks and the composition of a strategy with
// clipping (a wrapper) or DP (its own aggregator: clipping is part of it).
#include <cmath>

#include "server/aggregation/clipping.hpp"
#include "server/aggregation/dp_aggregator.hpp"
#include "server/aggregation/fedavg_aggregator.hpp"
#include "server/aggregation/robust_aggregators.hpp"

namespace edgefed::server {

namespace {

using AggregatorResult = Result<std::unique_ptr<Aggregator>>;

Status bad(const std::string& message) { return Status(Code::kInvalidArgument, message); }

Status check(const AggregatorOptions& o) {
  if (o.name != "fedavg" && o.name != "median" && o.name != "trimmed-mean" && o.name != "krum") {
    return bad("aggregator must be fedavg, median, trimmed-mean or krum, not '" + o.name + "'");
  }
  if (!(o.trim_beta >= 0 && o.trim_beta < 0.5)) {
    return bad("trim_beta must be in [0, 0.5): trimming beta n from each side must leave a value");
  }
  if (o.krum_f < 0) return bad("krum_f must be >= 0");
  if (o.krum_m < 0) return bad("krum_m must be >= 0 (0 = n - f)");
  if (o.threads < 1 || o.threads > 256) return bad("aggregation_threads must be in 1..256");
  if (!(std::isfinite(o.clip_norm) && o.clip_norm >= 0)) return bad("clip_norm must be >= 0 (0 = off)");
  if (!(std::isfinite(o.dp_noise_multiplier) && o.dp_noise_multiplier >= 0)) {
    return bad("dp_noise_multiplier must be >= 0 (0 = off)");
  }
  if (o.expected_count < 0) return bad("expected_count must be >= 0");
  if (o.dp_noise_multiplier > 0) {
    if (o.clip_norm <= 0) return bad("dp_noise_multiplier needs clip_norm > 0 (the noise is scaled to it)");
    if (o.name != "fedavg") {
      return bad("dp_noise_multiplier works with the fedavg aggregator only: the Gaussian noise is calibrated "
                 "to the sensitivity of a sum, not of a " + o.name);
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Aggregator>> make_aggregator(const AggregatorOptions& o, size_t dim) {
  if (Status st = check(o); !st.is_ok()) return st;
  if (o.dp_noise_multiplier > 0) {
    return std::unique_ptr<Aggregator>(std::make_unique<DpFedAvgAggregator>(
        dim, o.clip_norm, o.dp_noise_multiplier, std::max<int64_t>(o.expected_count, 1), o.dp_seed));
  }
  std::unique_ptr<Aggregator> a;
  if (o.name == "fedavg") {
    a = std::make_unique<FedAvgAggregator>(dim);
  } else if (o.name == "median") {
    a = std::make_unique<MedianAggregator>(dim, o.expected_count, o.threads);
  } else if (o.name == "trimmed-mean") {
    a = std::make_unique<TrimmedMeanAggregator>(dim, o.expected_count, o.threads, o.trim_beta);
  } else {
    a = std::make_unique<MultiKrumAggregator>(dim, o.expected_count, o.threads, o.krum_f, o.krum_m);
  }
  if (o.clip_norm > 0) a = std::make_unique<ClippingAggregator>(std::move(a), o.clip_norm);
  return a;
}

Result<std::unique_ptr<Aggregator>> make_aggregator(const std::string& name, size_t dim) {
  AggregatorOptions o;
  o.name = name;
  return make_aggregator(o, dim);
}

}  // namespace edgefed::server
