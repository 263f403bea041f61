// Time series from a CSV file (the data spec's series: source), cut into
// sliding windows for forecasting and anomaly detection. Records are in time
// order (file order); a header line is required (columns are then named by
// header name or 0-based index).
//
// Agent INDEX of COUNT holds records [INDEX*n/COUNT, (INDEX+1)*n/COUNT): one
// sensor's recent history. Inside it, window t (t = 0, 1, ...) has features
// x[f*W + k] = column f at t + k (a conv1d input [C, W], flattened) and
// targets y[c*H + h] = target column c at t + W + h. The last `val` fraction
// of windows, in time order, is the validation set (forecasting validates on
// the future). With norm=fit, every column is standardised with the mean and
// std of the rows the training windows cover (inputs and targets), never the
// validation-only rows. Faults (corrupt.hpp) are applied to the agent's raw
// rows before windowing and normalisation.
//
// Thread safety: free functions on values; a SeriesTable may be sliced from
// many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgefed/ml/data_spec.hpp"
#include "edgefed/ml/local_data.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

// The raw columns of a series file, read once for all agents.
struct SeriesTable {
  std::vector<std::string> names;           // feature columns, then targets that are not features
  std::vector<std::vector<double>> values;  // values[c][t], raw, time order
  size_t features = 0;                      // the first `features` columns are the inputs
  std::vector<size_t> targets;              // forecast columns (indices into names), target= order
  int64_t rows() const { return values.empty() ? 0 : static_cast<int64_t>(values[0].size()); }
};

// Reads the columns spec (kind kSeries) needs: columns= (default: every
// column numeric in the first record) and target= (default: the features).
// Errors (kInvalidArgument, naming the field): no header line, an unknown
// column, a column named twice, a target that is not a numeric column, a
// non-numeric value, no records; kIo when the file cannot be read.
Result<SeriesTable> read_series(const DataSpec& spec);

// This agent's windows, as described above; the LocalData carries the
// Normalizer (norm=fit) and SeriesInfo. Errors (kInvalidArgument): the range
// holds fewer than window + horizon rows, or the windows would exceed
// 2^28 floats.
Result<LocalData> slice_series(const SeriesTable& table, const DataSpec& spec);

}  // namespace edgefed::ml
