// check_aggregator and make_aggregator: option checks and the composition of a strategy with
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

}  // namespace

Status check_aggregator(const AggregatorOptions& o) {
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
    if (o.kind != AggregatorKind::kFedAvg) {
      return bad("dp_noise_multiplier works with the fedavg aggregator only: the Gaussian noise is calibrated "
                 "to the sensitivity of a sum, not of a " + std::string(enum_name(o.kind)));
    }
  }
  return Status::ok();
}

Result<std::unique_ptr<Aggregator>> make_aggregator(const AggregatorOptions& o, size_t dim) {
  if (Status st = check_aggregator(o); !st.is_ok()) return st;
  if (o.dp_noise_multiplier > 0) {
    return std::unique_ptr<Aggregator>(std::make_unique<DpFedAvgAggregator>(
        dim, o.clip_norm, o.dp_noise_multiplier, std::max<int64_t>(o.expected_count, 1), o.dp_seed));
  }
  std::unique_ptr<Aggregator> a;
  switch (o.kind) {
    case AggregatorKind::kFedAvg:
      a = std::make_unique<FedAvgAggregator>(dim);
      break;
    case AggregatorKind::kMedian:
      a = std::make_unique<MedianAggregator>(dim, o.expected_count, o.threads);
      break;
    case AggregatorKind::kTrimmedMean:
      a = std::make_unique<TrimmedMeanAggregator>(dim, o.expected_count, o.threads, o.trim_beta);
      break;
    case AggregatorKind::kKrum:
      a = std::make_unique<MultiKrumAggregator>(dim, o.expected_count, o.threads, o.krum_f, o.krum_m);
      break;
  }
  if (o.clip_norm > 0) a = std::make_unique<ClippingAggregator>(std::move(a), o.clip_norm);
  return a;
}

Result<std::unique_ptr<Aggregator>> make_aggregator(AggregatorKind kind, size_t dim) {
  AggregatorOptions o;
  o.kind = kind;
  return make_aggregator(o, dim);
}

}  // namespace edgefed::server
