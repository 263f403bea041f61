// The test accuracy of one exact model version (edgefed-sim --versions N):
// the evaluator polls and may see version N+1 first, so the checkpoint of N
// is read from the server's state database after the server stopped
// (server/store/FORMAT.md: versions.checkpoint, kept for the newest
// keep_last_n versions) and evaluated on the held-out test set.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "edgefed/ml/evaluator.hpp"
#include "edgefed/status.hpp"

namespace edgefed::sim {

struct VersionAccuracy {
  int64_t version = 0;
  double accuracy = 0;
  double loss = 0;
};

// kNotFound if the version or its checkpoint is not in `db_path`.
Result<VersionAccuracy> evaluate_checkpoint(const std::string& db_path, int64_t version,
                                            ml::Evaluator& evaluator);

}  // namespace edgefed::sim
