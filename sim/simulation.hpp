// One edgefed-sim run from start to summary: certificates, server, fleet,
// faults on schedule, progress, drain, audit, results on disk.
#pragma once

#include <atomic>

#include "sim_config.hpp"
#include "summary.hpp"

namespace edgefed::sim {

// Runs the simulation. `interrupted` (set by SIGINT/SIGTERM) ends training
// early; the run still drains, audits and writes its results.
// Errors: kInvalidArgument (config), kUnavailable (server would not start),
// kIo (work dir, data files).
Result<RunSummary> run_simulation(const SimConfig& config, const std::atomic<bool>& interrupted);

}  // namespace edgefed::sim
