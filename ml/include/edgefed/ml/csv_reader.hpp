// CSV files of numeric features and an integer class label, for real sensor
// data. Comma-separated, one record per line, '#' comment lines and blank
// lines skipped. A first line whose fields are all non-numeric is a header.
// Every error names the file, the line number and the field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/ml/dataset.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

struct CsvOptions {
  // Label column: a 0-based index, a header name, or "last" (default).
  std::string label = "last";
  // Number of classes; 0 = max label + 1.
  int num_classes = 0;
  // Refuse files with more records than this (bounds memory on small devices).
  int64_t max_records = 10'000'000;
};

// Errors (kInvalidArgument unless noted): kIo when the file cannot be read;
// a non-numeric, NaN or infinite feature; a label that is not a non-negative
// integer (or >= num_classes); a missing label column; rows of differing
// width; an empty file.
Result<DataStore> read_csv(const std::string& path, const CsvOptions& options = {});

// Parses one record (no trailing newline) into `features` and `label`;
// `label_col` < 0 means last. Shared by the CSV file and stream sources.
// On error returns a message naming the field (the caller adds the line).
Status parse_csv_record(std::string_view line, int label_col, int num_classes,
                        std::vector<float>& features, int32_t& label);

}  // namespace edgefed::ml
