#include "edgefed/ml/csv_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>

namespace edgefed::ml {
namespace {

constexpr int32_t kMaxLabel = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    out.push_back(trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// Strict: the whole field must be a number; NaN and infinities are refused.
bool parse_number(std::string_view s, double& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string quote(std::string_view s) {
  // Built by appending: GCC 12 at -O3 reports a false -Wrestrict (GCC bug
  // 105329) inside libstdc++ for `"literal" + std::string&&`.
  std::string out = "'";
  if (s.size() > 40) return out.append(s.substr(0, 40)).append("...'");
  return out.append(s).append("'");
}

bool is_header(const std::vector<std::string_view>& fields) {
  double v;
  return std::none_of(fields.begin(), fields.end(), [&](std::string_view f) { return parse_number(f, v); });
}

Status at_line(const std::string& path, int64_t line, const Status& st) {
  return Status(st.code(), path + ":" + std::to_string(line) + ": " + st.message());
}

}  // namespace

Status parse_csv_record(std::string_view line, int label_col, int num_classes, std::vector<float>& features,
                        int32_t& label) {
  const auto fields = split(line);
  if (fields.size() < 2)
    return Status(Code::kInvalidArgument, "record has " + std::to_string(fields.size()) +
                                              " field(s); need at least one feature and a label");
  const size_t lc = label_col < 0 ? fields.size() - 1 : static_cast<size_t>(label_col);
  if (lc >= fields.size())
    return Status(Code::kInvalidArgument, "missing label column " + std::to_string(lc) + " (record has " +
                                              std::to_string(fields.size()) + " fields)");
  features.clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    double v = 0;
    if (!parse_number(fields[i], v) || !std::isfinite(v)) {
      const bool nonfinite = parse_number(fields[i], v);
      return Status(Code::kInvalidArgument, std::string(i == lc ? "label" : "feature") + " field " +
                                                std::to_string(i) + " " + quote(fields[i]) +
                                                (nonfinite ? " is not finite" : " is not a number"));
    }
    if (i == lc) {
      const int32_t limit = num_classes > 0 ? num_classes : kMaxLabel;
      if (v < 0 || v >= limit || v != std::floor(v))
        return Status(Code::kInvalidArgument, "label field " + std::to_string(i) + " " + quote(fields[i]) +
                                                  " is not a class in 0.." + std::to_string(limit - 1));
      label = static_cast<int32_t>(v);
    } else {
      const float f = static_cast<float>(v);
      if (!std::isfinite(f))
        return Status(Code::kInvalidArgument, "feature field " + std::to_string(i) + " " + quote(fields[i]) +
                                                  " overflows a float");
      features.push_back(f);
    }
  }
  return Status::ok();
}

Result<DataStore> read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path);
  if (!in) return Status(Code::kIo, path + ": cannot open");
  int label_col = -1;
  bool label_resolved = false;
  if (options.label != "last") {
    if (!options.label.empty() && std::all_of(options.label.begin(), options.label.end(),
                    [](unsigned char c) { return std::isdigit(c) != 0; }) &&
        options.label.size() < 7) {
      label_col = std::stoi(options.label);
      label_resolved = true;
    }
  } else {
    label_resolved = true;
  }
  std::vector<float> values, row;
  std::vector<int32_t> labels;
  int64_t width = -1;
  int64_t line_no = 0;
  bool first = true;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (first) {
      first = false;
      const auto fields = split(t);
      if (is_header(fields)) {
        if (!label_resolved) {
          const auto it = std::find(fields.begin(), fields.end(), std::string_view(options.label));
          if (it == fields.end())
            return Status(Code::kInvalidArgument, path + ":" + std::to_string(line_no) + ": missing label column '" +
                                                      options.label + "' (header: " + std::string(t.substr(0, 200)) + ")");
          label_col = static_cast<int>(it - fields.begin());
          label_resolved = true;
        } else if (label_col >= static_cast<int>(fields.size())) {
          return Status(Code::kInvalidArgument, path + ": missing label column " + std::to_string(label_col) +
                                                    " (header has " + std::to_string(fields.size()) + " columns)");
        }
        continue;
      }
      if (!label_resolved)
        return Status(Code::kInvalidArgument, path + ": missing label column '" + options.label +
                                                  "': the file has no header line to name it");
    }
    int32_t y = 0;
    if (Status st = parse_csv_record(t, label_col, options.num_classes, row, y); !st)
      return at_line(path, line_no, st);
    if (width < 0) width = static_cast<int64_t>(row.size());
    if (static_cast<int64_t>(row.size()) != width)
      return Status(Code::kInvalidArgument, path + ":" + std::to_string(line_no) + ": record has " +
                                                std::to_string(row.size()) + " features, earlier records have " +
                                                std::to_string(width));
    if (static_cast<int64_t>(labels.size()) >= options.max_records)
      return Status(Code::kInvalidArgument, path + ": more than " + std::to_string(options.max_records) + " records");
    values.insert(values.end(), row.begin(), row.end());
    labels.push_back(y);
  }
  if (in.bad()) return Status(Code::kIo, path + ": read error");
  if (labels.empty()) return Status(Code::kInvalidArgument, path + ": no records");
  DataStore out;
  out.features = Eigen::Map<const FeatureMatrix>(values.data(), static_cast<Eigen::Index>(labels.size()), width);
  out.num_classes = options.num_classes > 0 ? options.num_classes : *std::max_element(labels.begin(), labels.end()) + 1;
  out.labels = std::move(labels);
  return out;
}

}  // namespace edgefed::ml
