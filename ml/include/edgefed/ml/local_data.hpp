// Loading an agent's local data set from a parsed --data spec (idx, csv,
// series): its training slice and its local validation split.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/ml/data_spec.hpp"
#include "edgefed/ml/dataset.hpp"
#include "edgefed/ml/normalizer.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

// How a series (series_reader.hpp) was cut into windows, and where its
// injected faults are, so that forecasts can be mapped back to sensor units
// and an anomaly detector scored.
struct SeriesInfo {
  int window = 0;   // W: features of a sample are C x W, x[f * W + k] = column f at time t + k
  int horizon = 0;  // H: targets are T x H, y[c * H + h] = target column c at time t + W + h
  std::vector<std::string> channels;  // the C feature columns
  std::vector<std::string> targets;   // the T target columns
  int64_t first_row = 0;              // this agent's range starts at this record of the file
  // Per row of the agent's range: 1 where a fault (spec.fault) altered a reading.
  std::vector<uint8_t> faulty_rows;
  // Per train / validation sample: 1 if its input window (rows t .. t+W-1)
  // holds a faulty reading. All 0 without a fault.
  std::vector<uint8_t> train_faulty;
  std::vector<uint8_t> validation_faulty;
};

struct LocalData {
  Dataset train;
  Dataset validation;  // empty if validation_fraction == 0
  // Series with norm=fit: the standardisation applied to the samples, one
  // channel per feature column and then one per target column (C + T
  // channels; target c is channel C + c), to invert forecasts.
  std::optional<Normalizer> normalizer;
  std::optional<SeriesInfo> series;  // series only
};

// Reads the files and keeps only this agent's slice in memory: for idx, the
// labels are read first to compute the partition, then only the slice's
// images are kept; a series reads the file and windows the agent's range.
// REQUIRES: spec.kind is not kStream (kInvalidArgument else).
Result<LocalData> load_local_data(const DataSpec& spec);

// The same slice as load_local_data() would give, as views of an already
// loaded full data set shared by many agents (the simulator loads Fashion-
// MNIST once and hands each agent a view). `full` must be what
// load_idx(dir, split) / read_csv(path) return for spec. A store without
// labels (csv target=) is split iid. Series are sliced with slice_series()
// (series_reader.hpp) instead: kInvalidArgument here.
Result<LocalData> slice_local_data(std::shared_ptr<const DataStore> full, const DataSpec& spec);

}  // namespace edgefed::ml
