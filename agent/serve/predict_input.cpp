#include "agent/serve/predict_input.hpp"

#include "edgefed/ml/csv_reader.hpp"
#include "edgefed/ml/idx_reader.hpp"

namespace edgefed::agent {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<ml::FeatureMatrix> read_predict_input(const std::string& path, InputFormat format, int64_t max_rows) {
  if (format == InputFormat::kAuto) {
    const std::string name = path.substr(path.find_last_of('/') + 1);
    format = name.find("idx") != std::string::npos || ends_with(name, "-ubyte") || ends_with(name, "-ubyte.gz")
                 ? InputFormat::kIdx
                 : InputFormat::kCsv;
  }
  if (format == InputFormat::kIdx) {
    auto a = ml::read_idx(path);
    if (!a) return a.status();
    if (a->dims.empty() || a->dims[0] == 0) return Status(Code::kInvalidArgument, path + ": no items");
    const int64_t rows = a->dims[0];
    if (rows > max_rows)
      return Status(Code::kInvalidArgument, path + ": more than " + std::to_string(max_rows) + " items");
    const int64_t width = static_cast<int64_t>(a->data.size()) / rows;
    ml::FeatureMatrix m(rows, width);
    for (int64_t i = 0; i < rows * width; ++i) m.data()[i] = static_cast<float>(a->data[i]) / 255.0f;
    return m;
  }
  auto cols = ml::read_csv_columns(path, {}, max_rows);
  if (!cols) return cols.status();
  const int64_t width = static_cast<int64_t>(cols->values.size());
  const int64_t rows = width ? static_cast<int64_t>(cols->values[0].size()) : 0;
  if (rows == 0) return Status(Code::kInvalidArgument, path + ": no records");
  ml::FeatureMatrix m(rows, width);
  for (int64_t c = 0; c < width; ++c)
    for (int64_t r = 0; r < rows; ++r) m(r, c) = static_cast<float>(cols->values[c][r]);
  return m;
}

}  // namespace edgefed::agent
