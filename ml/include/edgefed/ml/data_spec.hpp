// The agent's --data flag:
//   idx:DIR[:INDEX/COUNT][:iid|dirichlet:ALPHA|shards:K][:seed=S][:val=F][:split=train|test]
//       [:corrupt=labels|noise]  (test seam: broken data, corrupt.hpp)
//       e.g. idx:/usr/share/datasets/fashion-mnist:3/100:dirichlet:0.5:seed=7
//   csv:PATH[:label=COL][:val=F][:seed=S][:classes=N]
//   stream:PATH|-[:label=COL][:features=D][:classes=N][:batch=B][:buffer=R]
// Fields are ':'-separated; paths therefore cannot contain ':'. Defaults:
// 0/1, iid, seed=0, val=0.1 (idx, csv), split=train, label=last, batch=8,
// buffer=1024 records.
#pragma once

#include <cstdint>
#include <string>

#include "edgefed/ml/idx_reader.hpp"
#include "edgefed/ml/partition.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

enum class DataKind { kIdx, kCsv, kStream };

struct DataSpec {
  DataKind kind = DataKind::kIdx;
  std::string path;                // directory (idx), file (csv), FIFO/file or "-" (stream)
  PartitionSpec partition;         // idx and csv: this agent's slice
  IdxSplit split = IdxSplit::kTrain;
  double validation_fraction = 0.1;  // idx, csv: local validation hold-out
  std::string label = "last";      // csv, stream: label column
  int num_classes = 0;             // csv, stream: 0 = infer (stream: 10)
  int features = 0;                // stream: feature count, 0 = from first record
  int batch = 8;                   // stream: records per online step
  int buffer = 1024;               // stream: bounded record buffer
  std::string corrupt;             // idx, csv: "" | "labels" | "noise" (corrupt.hpp)
};

// Errors are kInvalidArgument with a message naming the bad field, e.g.
// "--data: bad partition '3/2' (want INDEX/COUNT with 0 <= INDEX < COUNT)".
Result<DataSpec> parse_data_spec(const std::string& text);

// Round trip for logs: the canonical spec string.
std::string to_string(const DataSpec& spec);

}  // namespace edgefed::ml
