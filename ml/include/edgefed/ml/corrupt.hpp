// Deliberately corrupted local data, for testing the server's outlier
// detection (a device whose sensor or labelling is broken): the data spec's
// ":corrupt=labels" gives every sample a random label, ":corrupt=noise"
// replaces every feature with uniform noise in [0, 1). Deterministic in the
// seed. Never used unless a spec asks for it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "edgefed/ml/dataset.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

// "" (none), "labels" or "noise".
bool valid_corruption(const std::string& mode);

// A new store holding `rows` of `store` (in that order), corrupted by mode.
std::shared_ptr<const DataStore> corrupt_rows(const DataStore& store, std::span<const uint32_t> rows,
                                              const std::string& mode, uint64_t seed);

}  // namespace edgefed::ml
