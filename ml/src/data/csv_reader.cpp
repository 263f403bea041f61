#include "edgefed/ml/csv_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>

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

bool is_index(std::string_view s) {
  return !s.empty() && s.size() < 7 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

Status invalid(std::string message) { return Status(Code::kInvalidArgument, std::move(message)); }

Status at_line(const std::string& path, int64_t line, const Status& st) {
  return Status(st.code(), path + ":" + std::to_string(line) + ": " + st.message());
}

// A numeric field as a finite value; the message names the field.
Status parse_value(std::string_view field, size_t col, const char* what, double& v) {
  if (!parse_number(field, v))
    return invalid(std::string(what) + " field " + std::to_string(col) + " " + quote(field) + " is not a number");
  if (!std::isfinite(v))
    return invalid(std::string(what) + " field " + std::to_string(col) + " " + quote(field) + " is not finite");
  return Status::ok();
}

Status parse_float(std::string_view field, size_t col, const char* what, float& f) {
  double v = 0;
  EDGEFED_RETURN_IF_ERROR(parse_value(field, col, what, v));
  f = static_cast<float>(v);
  if (!std::isfinite(f))
    return invalid(std::string(what) + " field " + std::to_string(col) + " " + quote(field) + " overflows a float");
  return Status::ok();
}

// The non-blank, non-comment lines of a file, trimmed, with line numbers.
class Lines {
 public:
  explicit Lines(std::istream& in) : in_(in) {}
  bool next(std::string_view& out) {
    while (std::getline(in_, buf_)) {
      ++line_;
      const std::string_view t = trim(buf_);
      if (t.empty() || t.front() == '#') continue;
      out = t;
      return true;
    }
    return false;
  }
  int64_t line() const { return line_; }

 private:
  std::istream& in_;
  std::string buf_;
  int64_t line_ = 0;
};

// The first line: a header, or the first record (then kept for parsing).
struct Head {
  std::vector<std::string> header;  // empty without a header line
  size_t ncols = 0;
  int64_t line = 0;
  std::string first_record;  // when there is no header
};

Result<Head> read_head(const std::string& path, Lines& lines, std::istream& in) {
  std::string_view first;
  if (!lines.next(first)) {
    if (in.bad()) return Status(Code::kIo, path + ": read error");
    return invalid(path + ": no records");
  }
  Head h;
  const auto fields = split(first);
  h.ncols = fields.size();
  h.line = lines.line();
  if (is_header(fields)) {
    for (auto f : fields) h.header.emplace_back(f);
  } else {
    h.first_record.assign(first);
  }
  return h;
}

std::string header_text(const std::vector<std::string>& header) {
  std::string out;
  for (const auto& h : header) out.append(out.empty() ? "" : ",").append(h);
  if (out.size() > 200) out.resize(200);
  return out;
}

// A column token (name or 0-based index) as an index; `what` names its role.
Result<size_t> resolve_column(const std::string& path, const std::string& token, const char* what, const Head& h) {
  if (is_index(token)) {
    const size_t c = static_cast<size_t>(std::stoi(token));
    if (c < h.ncols) return c;
    if (h.header.empty())
      return invalid(path + ":" + std::to_string(h.line) + ": missing " + what + " column " + token + " (record has " +
                     std::to_string(h.ncols) + " fields)");
    return invalid(path + ": missing " + what + " column " + token + " (header has " + std::to_string(h.ncols) +
                   " columns)");
  }
  if (h.header.empty())
    return invalid(path + ": missing " + what + " column " + quote(token) +
                   ": the file has no header line to name it");
  const auto it = std::find(h.header.begin(), h.header.end(), token);
  if (it == h.header.end())
    return invalid(path + ":" + std::to_string(h.line) + ": missing " + what + " column " + quote(token) +
                   " (header: " + header_text(h.header) + ")");
  return static_cast<size_t>(it - h.header.begin());
}

// Resolves columns to indices, refusing one picked twice.
class ColumnPicker {
 public:
  ColumnPicker(const std::string& path, const Head& head) : path_(path), head_(head), role_(head.ncols, nullptr) {}
  Result<size_t> take(const std::string& token, const char* what) {
    auto c = resolve_column(path_, token, what, head_);
    if (!c) return c.status();
    return mark(*c, token, what);
  }
  Result<size_t> mark(size_t c, const std::string& token, const char* what) {
    if (role_[c] != nullptr)
      return invalid(path_ + ": column " + quote(token) + " is picked twice (" + role_[c] + " and " + what + ")");
    role_[c] = what;
    return c;
  }
  // Every token of `tokens`, in order, appended to `out`.
  Status take_all(const std::vector<std::string>& tokens, const char* what, std::vector<size_t>& out) {
    for (const auto& t : tokens) {
      auto c = take(t, what);
      if (!c) return c.status();
      out.push_back(*c);
    }
    return Status::ok();
  }
  bool taken(size_t c) const { return role_[c] != nullptr; }

 private:
  const std::string& path_;
  const Head& head_;
  std::vector<const char*> role_;
};

// Label strings are interned as read; whether the column holds integers or
// categories is only known once every value has been seen.
struct LabelSeen {
  int32_t id;
  int64_t line;  // first occurrence, for error messages
};

using LabelDict = std::map<std::string, LabelSeen, std::less<>>;

Status resolve_labels(const std::string& path, size_t label_col, const LabelDict& dict, const std::vector<int32_t>& ids,
                      int requested_classes, DataStore& out) {
  std::vector<int32_t> class_of(dict.size());
  double v = 0;
  const bool numeric =
      std::all_of(dict.begin(), dict.end(), [&](const auto& e) { return parse_number(e.first, v); });
  if (numeric) {
    const int32_t limit = requested_classes > 0 ? requested_classes : kMaxLabel;
    const std::string* bad = nullptr;
    int64_t bad_line = 0;
    std::string why;
    int32_t max_label = 0;
    for (const auto& [text, seen] : dict) {
      parse_number(text, v);
      std::string problem;
      if (!std::isfinite(v)) problem = " is not finite";
      else if (v < 0 || v >= limit || v != std::floor(v))
        problem = " is not a class in 0.." + std::to_string(limit - 1);
      if (!problem.empty()) {
        if (bad == nullptr || seen.line < bad_line) {
          bad = &text;
          bad_line = seen.line;
          why = problem;
        }
        continue;
      }
      class_of[static_cast<size_t>(seen.id)] = static_cast<int32_t>(v);
      max_label = std::max(max_label, static_cast<int32_t>(v));
    }
    if (bad != nullptr)
      return invalid(path + ":" + std::to_string(bad_line) + ": label field " + std::to_string(label_col) + " " +
                     quote(*bad) + why);
    out.num_classes = requested_classes > 0 ? requested_classes : max_label + 1;
  } else {
    if (requested_classes > 0 && dict.size() > static_cast<size_t>(requested_classes))
      return invalid(path + ": label column " + std::to_string(label_col) + " has " + std::to_string(dict.size()) +
                     " distinct values, more than classes=" + std::to_string(requested_classes));
    int32_t k = 0;
    for (const auto& [text, seen] : dict) {
      class_of[static_cast<size_t>(seen.id)] = k++;
      out.class_names.push_back(text);
    }
    out.num_classes = requested_classes > 0 ? requested_classes : k;
  }
  out.labels.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) out.labels[i] = class_of[static_cast<size_t>(ids[i])];
  return Status::ok();
}

}  // namespace

Status parse_csv_record(std::string_view line, int label_col, int num_classes, std::vector<float>& features,
                        int32_t& label) {
  const auto fields = split(line);
  if (fields.size() < 2)
    return invalid("record has " + std::to_string(fields.size()) + " field(s); need at least one feature and a label");
  const size_t lc = label_col < 0 ? fields.size() - 1 : static_cast<size_t>(label_col);
  if (lc >= fields.size())
    return invalid("missing label column " + std::to_string(lc) + " (record has " + std::to_string(fields.size()) +
                   " fields)");
  features.clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i == lc) {
      double v = 0;
      EDGEFED_RETURN_IF_ERROR(parse_value(fields[i], i, "label", v));
      const int32_t limit = num_classes > 0 ? num_classes : kMaxLabel;
      if (v < 0 || v >= limit || v != std::floor(v))
        return invalid("label field " + std::to_string(i) + " " + quote(fields[i]) + " is not a class in 0.." +
                       std::to_string(limit - 1));
      label = static_cast<int32_t>(v);
    } else {
      float f = 0;
      EDGEFED_RETURN_IF_ERROR(parse_float(fields[i], i, "feature", f));
      features.push_back(f);
    }
  }
  return Status::ok();
}

Result<DataStore> read_csv(const std::string& path, const CsvOptions& options) {
  const bool regression = !options.targets.empty();
  if (regression && options.label != "last")
    return invalid(path + ": label=" + options.label + " and target columns are exclusive");
  std::ifstream in(path);
  if (!in) return Status(Code::kIo, path + ": cannot open");
  Lines lines(in);
  auto head_or = read_head(path, lines, in);
  if (!head_or) return head_or.status();
  const Head& head = *head_or;

  ColumnPicker pick(path, head);
  size_t label_col = 0;
  std::vector<size_t> target_cols, feature_cols;
  if (regression) {
    EDGEFED_RETURN_IF_ERROR(pick.take_all(options.targets, "target", target_cols));
  } else {
    auto c = options.label == "last" ? pick.mark(head.ncols - 1, "last", "label") : pick.take(options.label, "label");
    if (!c) return c.status();
    label_col = *c;
  }
  const bool explicit_columns = !options.columns.empty();
  if (explicit_columns) {
    EDGEFED_RETURN_IF_ERROR(pick.take_all(options.columns, "feature", feature_cols));
  } else {
    for (size_t c = 0; c < head.ncols; ++c)
      if (!pick.taken(c)) feature_cols.push_back(c);
  }
  if (feature_cols.empty())
    return invalid(path + ":" + std::to_string(head.line) + ": record has " + std::to_string(head.ncols) +
                   " field(s); need at least one feature and " + (regression ? "a target" : "a label"));

  const size_t nfeat = feature_cols.size();
  const size_t other = head.ncols - nfeat;  // label/target and unselected columns
  std::vector<float> values, targets;
  std::vector<int32_t> label_ids;
  LabelDict dict;
  int64_t n = 0;
  auto record = [&](std::string_view line) -> Status {
    const auto f = split(line);
    if (f.size() != head.ncols) {
      if (explicit_columns || f.size() < other)
        return invalid("record has " + std::to_string(f.size()) + " fields, earlier records have " +
                       std::to_string(head.ncols));
      return invalid("record has " + std::to_string(f.size() - other) + " features, earlier records have " +
                     std::to_string(nfeat));
    }
    if (n >= options.max_records)
      return invalid("more than " + std::to_string(options.max_records) + " records");
    for (size_t c : feature_cols) {
      float v = 0;
      EDGEFED_RETURN_IF_ERROR(parse_float(f[c], c, "feature", v));
      values.push_back(v);
    }
    for (size_t c : target_cols) {
      float v = 0;
      EDGEFED_RETURN_IF_ERROR(parse_float(f[c], c, "target", v));
      targets.push_back(v);
    }
    if (!regression) {
      const std::string_view text = f[label_col];
      if (text.empty()) return invalid("label field " + std::to_string(label_col) + " '' is empty");
      auto it = dict.find(text);
      if (it == dict.end()) {
        if (dict.size() >= static_cast<size_t>(kMaxLabel))
          return invalid("more than " + std::to_string(kMaxLabel) + " distinct labels");
        it = dict.emplace(std::string(text), LabelSeen{static_cast<int32_t>(dict.size()), lines.line()}).first;
      }
      label_ids.push_back(it->second.id);
    }
    ++n;
    return Status::ok();
  };
  if (head.header.empty())
    if (Status st = record(head.first_record); !st) return at_line(path, head.line, st);
  std::string_view line;
  while (lines.next(line))
    if (Status st = record(line); !st) return at_line(path, lines.line(), st);
  if (in.bad()) return Status(Code::kIo, path + ": read error");
  if (n == 0) return invalid(path + ": no records");

  DataStore out;
  out.features = Eigen::Map<const FeatureMatrix>(values.data(), static_cast<Eigen::Index>(n),
                                                 static_cast<Eigen::Index>(nfeat));
  if (regression) {
    out.targets = Eigen::Map<const FeatureMatrix>(targets.data(), static_cast<Eigen::Index>(n),
                                                  static_cast<Eigen::Index>(target_cols.size()));
  } else {
    EDGEFED_RETURN_IF_ERROR(resolve_labels(path, label_col, dict, label_ids, options.num_classes, out));
  }
  return out;
}

Result<CsvColumns> read_csv_columns(const std::string& path, std::span<const std::string> columns,
                                    int64_t max_records) {
  std::ifstream in(path);
  if (!in) return Status(Code::kIo, path + ": cannot open");
  Lines lines(in);
  auto head_or = read_head(path, lines, in);
  if (!head_or) return head_or.status();
  Head& head = *head_or;
  int64_t first_line = head.line;
  if (!head.header.empty()) {
    // The first record decides which columns are numeric.
    std::string_view first;
    if (!lines.next(first)) {
      if (in.bad()) return Status(Code::kIo, path + ": read error");
      return invalid(path + ": no records");
    }
    head.first_record.assign(first);
    first_line = lines.line();
  }
  std::vector<size_t> cols;
  if (!columns.empty()) {
    for (const auto& t : columns) {
      auto c = resolve_column(path, t, "value", head);
      if (!c) return c.status();
      cols.push_back(*c);
    }
  } else {
    const auto f = split(head.first_record);
    double v = 0;
    for (size_t c = 0; c < f.size() && c < head.ncols; ++c)
      if (parse_number(f[c], v) && std::isfinite(v)) cols.push_back(c);
    if (cols.empty()) return invalid(path + ":" + std::to_string(first_line) + ": no numeric columns");
  }
  CsvColumns out;
  out.has_header = !head.header.empty();
  for (size_t c : cols) out.names.push_back(head.header.empty() ? std::to_string(c) : head.header[c]);
  out.indices = cols;
  out.values.resize(cols.size());
  int64_t n = 0;
  auto record = [&](std::string_view line) -> Status {
    const auto f = split(line);
    if (f.size() != head.ncols)
      return invalid("record has " + std::to_string(f.size()) + " fields, earlier records have " +
                     std::to_string(head.ncols));
    if (n >= max_records) return invalid("more than " + std::to_string(max_records) + " records");
    for (size_t i = 0; i < cols.size(); ++i) {
      double v = 0;
      EDGEFED_RETURN_IF_ERROR(parse_value(f[cols[i]], cols[i], "value", v));
      out.values[i].push_back(v);
    }
    ++n;
    return Status::ok();
  };
  if (Status st = record(head.first_record); !st) return at_line(path, first_line, st);
  std::string_view line;
  while (lines.next(line))
    if (Status st = record(line); !st) return at_line(path, lines.line(), st);
  if (in.bad()) return Status(Code::kIo, path + ": read error");
  return out;
}

}  // namespace edgefed::ml
