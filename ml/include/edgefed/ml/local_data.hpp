// Loading an agent's local data set from a parsed --data spec (idx, csv):
// its training slice and its local validation split.
#pragma once

#include <memory>

#include "edgefed/ml/data_spec.hpp"
#include "edgefed/ml/dataset.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

struct LocalData {
  Dataset train;
  Dataset validation;  // empty if validation_fraction == 0
};

// Reads the files and keeps only this agent's slice in memory: for idx, the
// labels are read first to compute the partition, then only the slice's
// images are kept. REQUIRES: spec.kind is kIdx or kCsv (kInvalidArgument else).
Result<LocalData> load_local_data(const DataSpec& spec);

// The same slice as load_local_data() would give, as views of an already
// loaded full data set shared by many agents (the simulator loads Fashion-
// MNIST once and hands each agent a view). `full` must be what
// load_idx(dir, split) / read_csv(path) return for spec.
Result<LocalData> slice_local_data(std::shared_ptr<const DataStore> full, const DataSpec& spec);

}  // namespace edgefed::ml
