// Deliberately corrupted local data, for testing the server's outlier
// detection (a device whose sensor or labelling is broken) and anomaly
// detectors. Deterministic in the seed. Never used unless a spec asks for it.
//
// Per sample (idx, csv): ":corrupt=labels" gives every sample a random label,
// ":corrupt=noise" replaces every feature with uniform noise in [0, 1).
//
// Per series (series:, applied to one agent's raw readings before windowing,
// to every column; std = that column's standard deviation over the range):
//   ":fault=stuck"   from the row one third into the range on, the sensor
//                    repeats the reading of that row
//   ":fault=spikes"  each reading, with probability 2 %, gets +5 or -5 std
//   ":fault=drift"   from the row one third into the range, an offset grows
//                    linearly to +3 std at the last row
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "edgefed/ml/dataset.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

// "" (none), "labels" or "noise".
bool valid_corruption(const std::string& mode);

// A new store holding `rows` of `store` (in that order), corrupted by mode.
// Targets and class names are copied; "labels" leaves a store without labels
// as it is.
std::shared_ptr<const DataStore> corrupt_rows(const DataStore& store, std::span<const uint32_t> rows,
                                              const std::string& mode, uint64_t seed);

// "" (none), "stuck", "spikes" or "drift".
bool valid_fault(const std::string& mode);

// Applies the fault `mode` in place to `columns` (equal-length series, time
// order). Returns one flag per row: 1 where some reading was altered (stuck:
// every row after the stuck point, even one that happens to equal it).
// An unknown mode or empty columns change nothing (all flags 0).
std::vector<uint8_t> apply_series_fault(std::vector<std::vector<double>>& columns, const std::string& mode,
                                        uint64_t seed);

}  // namespace edgefed::ml
