// CSV files of numeric features and a class label or regression targets, for
// real sensor data. Comma-separated (no quoting), one record per line, '#'
// comment lines and blank lines skipped. A first line whose fields are all
// non-numeric is a header; columns are named by header name or 0-based index
// (a header name is never a number, so the two cannot clash). Every error
// names the file, the line number where there is one, and the field.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/ml/dataset.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

struct CsvOptions {
  // Label column: a 0-based index, a header name, or "last" (default). Ignored
  // (must stay "last") when `targets` is set. A label column whose values are
  // all numbers holds integer classes; one with any non-numeric value is
  // categorical: class k is the k-th distinct string in byte order, and
  // DataStore::class_names lists them.
  std::string label = "last";
  // Regression: the float target columns (names or indices), in this order;
  // the store then has targets and no labels.
  std::vector<std::string> targets;
  // Feature columns in this order; empty = every column that is not the
  // label or a target, in file order. Unselected columns are never parsed.
  std::vector<std::string> columns;
  // Number of classes; 0 = max label + 1 (integer labels) or the number of
  // distinct strings (categorical).
  int num_classes = 0;
  // Refuse files with more records than this (bounds memory on small devices).
  int64_t max_records = 10'000'000;
};

// Errors (kInvalidArgument unless noted): kIo when the file cannot be read;
// a non-numeric, NaN or infinite feature or target; an integer label that is
// not a non-negative integer (or >= num_classes); an empty label; more
// distinct categorical labels than num_classes; a missing or unknown column,
// or one picked twice (e.g. both label and feature); rows of differing width;
// an empty file.
Result<DataStore> read_csv(const std::string& path, const CsvOptions& options = {});

// Numeric columns of a CSV file, for time series: values[c][r] is column c in
// record r, records in file order.
struct CsvColumns {
  bool has_header = false;
  std::vector<std::string> names;           // header names (or the index as text)
  std::vector<size_t> indices;              // 0-based position of each column in the file
  std::vector<std::vector<double>> values;  // one vector per column, equal lengths
};

// Reads `columns` (names or indices, in that order). Empty = every column
// whose value in the first record is a number, in file order (so a date
// column is skipped). A column named twice (e.g. by name and by index) is read
// twice. Errors as read_csv; no numeric column at all is an error.
Result<CsvColumns> read_csv_columns(const std::string& path, std::span<const std::string> columns,
                                    int64_t max_records = 10'000'000);

// Parses one record (no trailing newline) into `features` and `label`;
// `label_col` < 0 means last. Used by the stream source (integer labels).
// On error returns a message naming the field (the caller adds the line).
Status parse_csv_record(std::string_view line, int label_col, int num_classes,
                        std::vector<float>& features, int32_t& label);

}  // namespace edgefed::ml
