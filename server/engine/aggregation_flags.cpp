#include "server/engine/aggregation_flags.hpp"

#include <sstream>

namespace edgefed::server {

namespace {

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

void declare_aggregation_options(Options& o) {
  const EngineOptions e;
  o.add("aggregator", e.aggregator,
        "merge strategy: fedavg (streaming), median, trimmed-mean or krum (these keep K x model size in memory)")
      .add("trim-beta", num(e.trim_beta), "trimmed-mean: fraction of values dropped per side and coordinate, [0, 0.5)")
      .add("krum-f", num(static_cast<double>(e.krum_f)),
           "krum: hostile updates assumed per version (needs K > 2f + 2)")
      .add("krum-m", num(static_cast<double>(e.krum_m)), "krum: updates averaged after selection (0 = K - f)")
      .add("aggregation-threads", num(e.aggregation_threads), "threads of the median/trimmed-mean/krum kernels")
      .add("clip-norm", num(e.clip_norm), "clip each update to this L2 norm before merging (0 = off)")
      .add("dp-noise-multiplier", num(e.dp_noise_multiplier),
           "client-level DP: Gaussian noise z x clip-norm on the sum of updates (0 = off; needs --clip-norm, fedavg)")
      .add("dp-seed", num(static_cast<double>(e.dp_seed)), "DP noise seed (0 = random; fixed seeds are for tests)")
      .add("server-optimizer", e.server_optimizer, "step on the merged delta: sgd, fedavgm, fedadagrad, fedadam or fedyogi")
      .add("server-momentum", num(e.server_momentum), "fedavgm: momentum")
      .add("server-beta1", num(e.server_beta1), "fedadagrad/fedadam/fedyogi: first moment decay")
      .add("server-beta2", num(e.server_beta2), "fedadam/fedyogi: second moment decay")
      .add("server-tau", num(e.server_tau), "adaptive optimizers: adaptivity tau (step = lr m / (sqrt(v) + tau))");
}

void read_aggregation_options(const Options& o, EngineOptions& e) {
  e.aggregator = o.get("aggregator");
  e.trim_beta = o.get_double("trim-beta");
  e.krum_f = o.get_int("krum-f");
  e.krum_m = o.get_int("krum-m");
  const int64_t threads = o.get_int("aggregation-threads");
  if (threads < 1 || threads > 256) throw ConfigError("--aggregation-threads must be in 1..256");
  e.aggregation_threads = static_cast<int>(threads);
  e.clip_norm = o.get_double("clip-norm");
  e.dp_noise_multiplier = o.get_double("dp-noise-multiplier");
  const int64_t seed = o.get_int("dp-seed");
  if (seed < 0) throw ConfigError("--dp-seed must be >= 0");
  e.dp_seed = static_cast<uint64_t>(seed);
  e.server_optimizer = o.get("server-optimizer");
  e.server_momentum = o.get_double("server-momentum");
  e.server_beta1 = o.get_double("server-beta1");
  e.server_beta2 = o.get_double("server-beta2");
  e.server_tau = o.get_double("server-tau");
}

}  // namespace edgefed::server
