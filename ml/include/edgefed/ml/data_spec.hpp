// The agent's --data flag:
//   idx:DIR[:INDEX/COUNT][:iid|dirichlet:ALPHA|shards:K][:seed=S][:val=F][:split=train|test]
//       [:corrupt=labels|noise]  (test seam: broken data, corrupt.hpp)
//       e.g. idx:/usr/share/datasets/fashion-mnist:3/100:dirichlet:0.5:seed=7
//   csv:PATH[:INDEX/COUNT][:iid|dirichlet:ALPHA|shards:K][:label=COL|:target=C1[,C2..]]
//       [:columns=C1,C2..][:val=F][:seed=S][:classes=N][:corrupt=labels|noise][:norm=none|fit]
//       classification (label=, string labels become sorted categories) or
//       regression (target=, float targets; iid only, corrupt=noise only);
//       columns= picks the features, default every other column; norm=fit
//       standardises them with the agent's training rows (a private copy)
//       e.g. csv:seattle-weather.csv:label=weather:columns=precipitation,temp_max,temp_min,wind
//   series:PATH[:INDEX/COUNT][:columns=C1,C2..][:target=C1[,C2..]][:window=W][:horizon=H]
//       [:val=F][:seed=S][:fault=stuck|spikes|drift][:norm=fit|none|model]
//       sliding windows over a time series (series_reader.hpp): agent INDEX of
//       COUNT gets a contiguous time range; columns default to every numeric
//       column, target to every feature column; norm=model is for held-out
//       sets (the server's --eval-data, the sim's --test-data) only
//   stream:PATH|-[:label=COL][:features=D][:classes=N][:batch=B][:buffer=R]
//   stream:PATH|-:window=W[:horizon=H][:target=I1[,I2..]][:norm=fit|none][:features=C][:batch=B][:buffer=R]
//       sensor readings (C numbers a line, no label) cut into sliding
//       windows as they arrive, laid out as series: windows (stream_source.hpp)
// Columns are header names or 0-based indices. Fields are ':'-separated;
// paths therefore cannot contain ':'. Defaults: 0/1, iid, seed=0, val=0.1
// (idx, csv, series), split=train, label=last, window=24, horizon=1,
// norm=fit, batch=8, buffer=1024 records.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgefed/ml/idx_reader.hpp"
#include "edgefed/ml/partition.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

enum class DataKind { kIdx, kCsv, kStream, kSeries };

struct DataSpec {
  DataKind kind = DataKind::kIdx;
  std::string path;                // directory (idx), file (csv, series), FIFO/file or "-" (stream)
  PartitionSpec partition;         // idx, csv, series: this agent's slice (series: contiguous)
  IdxSplit split = IdxSplit::kTrain;
  double validation_fraction = 0.1;  // idx, csv, series: local validation hold-out
  std::string label = "last";      // csv, stream: label column
  std::vector<std::string> targets;  // csv, series: regression target columns
  std::vector<std::string> columns;  // csv, series: feature columns; empty = default
  int num_classes = 0;             // csv, stream: 0 = infer (stream: 10)
  int features = 0;                // stream: feature count, 0 = from first record
  int batch = 8;                   // stream: records per online step
  int buffer = 1024;               // stream: bounded record buffer
  std::string corrupt;             // idx, csv: "" | "labels" | "noise" (corrupt.hpp)
  int window = 24;                 // series: time steps per input window
  int horizon = 1;                 // series: time steps forecast per window
  std::string fault;               // series: "" | "stuck" | "spikes" | "drift" (corrupt.hpp)
  bool normalize = true;           // series, stream windows: norm=fit (true) or norm=none; csv: false unless norm=fit
  // series, held-out sets only (norm=model): standardised with the evaluated
  // model's normalizer when it has one (evaluator.hpp), else as fit
  bool scale_by_model = false;
  bool stream_windows = false;     // stream: window= given (numeric readings, no label)
};

// Errors are kInvalidArgument with a message naming the bad field, e.g.
// "--data: bad partition '3/2' (want INDEX/COUNT with 0 <= INDEX < COUNT)".
Result<DataSpec> parse_data_spec(const std::string& text);

// Round trip for logs: the canonical spec string.
std::string to_string(const DataSpec& spec);

}  // namespace edgefed::ml
