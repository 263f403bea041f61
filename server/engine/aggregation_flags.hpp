// The command-line options of the aggregation strategy and server optimizer
// (docs/aggregation.md): --aggregator, --trim-beta, --krum-f, --krum-m,
// --aggregation-threads, --clip-norm, --dp-noise-multiplier, --dp-seed,
// --server-optimizer, --server-momentum, --server-beta1, --server-beta2,
// --server-tau. Each is also a config-file key and an EDGEFED_* variable
// (options.hpp). --server-lr stays with the other server options.
#pragma once

#include "edgefed/options.hpp"
#include "server/engine/engine_options.hpp"

namespace edgefed::server {

void declare_aggregation_options(Options& options);
// Fills the strategy fields of `engine`; throws ConfigError on a value that
// is not a number. Ranges and combinations are checked by validate().
void read_aggregation_options(const Options& options, EngineOptions& engine);

}  // namespace edgefed::server
