#include "edgefed/ml/data_spec.hpp"

#include "edgefed/ml/corrupt.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <vector>

namespace edgefed::ml {
namespace {

Status bad(const std::string& what) { return Status(Code::kInvalidArgument, "--data: " + what); }

std::vector<std::string> split_colons(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ':')) out.push_back(part);
  if (!s.empty() && s.back() == ':') out.emplace_back();
  return out;
}

template <typename T>
bool parse_int(const std::string& s, T& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

bool parse_double(const std::string& s, double& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && std::isfinite(v);
}

Status parse_partition(const std::string& tok, PartitionSpec& p) {
  const size_t slash = tok.find('/');
  if (!parse_int(tok.substr(0, slash), p.index) || !parse_int(tok.substr(slash + 1), p.count) || p.count < 1 ||
      p.index < 0 || p.index >= p.count)
    return bad("bad partition '" + tok + "' (want INDEX/COUNT with 0 <= INDEX < COUNT)");
  return Status::ok();
}

// "a,b,c" -> {"a","b","c"}: no empty item, none twice.
Status parse_list(const std::string& key, const std::string& value, std::vector<std::string>& out) {
  out.clear();
  std::stringstream ss(value);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  if (value.empty() || value.back() == ',' ||
      std::any_of(out.begin(), out.end(), [](const std::string& s) { return s.empty(); }))
    return bad(key + "=" + value + " needs a comma-separated list of columns (names or 0-based indices)");
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (out[i] == out[j]) return bad(key + "=" + value + " names column '" + out[i] + "' twice");
  return Status::ok();
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out.append(out.empty() ? "" : ",").append(s);
  return out;
}

// Bounds window and horizon so window * channels cannot overflow.
constexpr int kMaxSteps = 1'000'000;

struct Seen {
  bool label = false;
  bool classes = false;
  bool horizon = false;
  bool norm = false;
};

Status parse_option(DataSpec& spec, Seen& seen, const std::string& key, const std::string& value) {
  const bool stream = spec.kind == DataKind::kStream;
  const bool csv = spec.kind == DataKind::kCsv;
  const bool series = spec.kind == DataKind::kSeries;
  auto positive = [&](int& field) {
    if (!parse_int(value, field) || field < 1) return bad(key + "=" + value + " must be a positive integer");
    return Status::ok();
  };
  auto steps = [&](int& field) {
    if (!parse_int(value, field) || field < 1 || field > kMaxSteps)
      return bad(key + "=" + value + " must be a positive integer up to " + std::to_string(kMaxSteps));
    return Status::ok();
  };
  if (key == "seed" && !stream) {
    if (!parse_int(value, spec.partition.seed)) return bad("seed=" + value + " must be a non-negative integer");
  } else if (key == "val" && !stream) {
    if (!parse_double(value, spec.validation_fraction) || spec.validation_fraction < 0 ||
        spec.validation_fraction >= 1)
      return bad("val=" + value + " must be a fraction in [0, 1)");
  } else if (key == "split" && spec.kind == DataKind::kIdx) {
    if (value == "train") spec.split = IdxSplit::kTrain;
    else if (value == "test") spec.split = IdxSplit::kTest;
    else return bad("split=" + value + " must be train or test");
  } else if (key == "corrupt" && !stream && !series) {
    if (value.empty() || !valid_corruption(value)) return bad("corrupt=" + value + " must be labels or noise");
    spec.corrupt = value;
  } else if (key == "label" && (csv || stream)) {
    if (value.empty()) return bad("label= needs a column (index, header name or 'last')");
    spec.label = value;
    seen.label = true;
  } else if (key == "classes" && (csv || stream)) {
    seen.classes = true;
    return positive(spec.num_classes);
  } else if (key == "target" && (csv || series || stream)) {
    return parse_list(key, value, spec.targets);
  } else if (key == "columns" && (csv || series)) {
    return parse_list(key, value, spec.columns);
  } else if (key == "window" && (series || stream)) {
    spec.stream_windows = stream;
    return steps(spec.window);
  } else if (key == "horizon" && (series || stream)) {
    seen.horizon = true;
    return steps(spec.horizon);
  } else if (key == "fault" && series) {
    if (value.empty() || !valid_fault(value))
      return bad("fault=" + value + " must be stuck, spikes or drift");
    spec.fault = value;
  } else if (key == "norm" && csv) {
    if (value == "fit") spec.normalize = true;
    else if (value == "none") spec.normalize = false;
    else return bad("norm=" + value + " must be fit or none");
  } else if (key == "norm" && (series || stream)) {
    seen.norm = true;
    spec.scale_by_model = value == "model";
    if (value == "fit" || value == "model") spec.normalize = true;
    else if (value == "none") spec.normalize = false;
    else return bad("norm=" + value + " must be fit, none or model");
  } else if (key == "features" && stream) {
    return positive(spec.features);
  } else if (key == "batch" && stream) {
    return positive(spec.batch);
  } else if (key == "buffer" && stream) {
    return positive(spec.buffer);
  } else {
    return bad("unknown option '" + key + "' for this source");
  }
  return Status::ok();
}

}  // namespace

Result<DataSpec> parse_data_spec(const std::string& text) {
  const auto tok = split_colons(text);
  DataSpec spec;
  if (tok.empty()) return bad("empty spec (want idx:DIR..., csv:PATH..., series:PATH... or stream:PATH...)");
  if (tok[0] == "idx") spec.kind = DataKind::kIdx;
  else if (tok[0] == "csv") {
    spec.kind = DataKind::kCsv;
    spec.normalize = false;  // csv: raw features unless norm=fit
  }
  else if (tok[0] == "stream") spec.kind = DataKind::kStream;
  else if (tok[0] == "series") spec.kind = DataKind::kSeries;
  else return bad("unknown source '" + tok[0] + "' in '" + text + "' (want idx:, csv:, series: or stream:)");
  if (tok.size() < 2 || tok[1].empty()) return bad("'" + tok[0] + ":' needs a path");
  spec.path = tok[1];
  const bool partitioned = spec.kind != DataKind::kStream;
  // Series are cut by time, never by label: only INDEX/COUNT applies.
  const bool by_label = spec.kind == DataKind::kIdx || spec.kind == DataKind::kCsv;
  Seen seen;
  for (size_t i = 2; i < tok.size(); ++i) {
    const std::string& t = tok[i];
    const size_t eq = t.find('=');
    if (eq != std::string::npos) {
      EDGEFED_RETURN_IF_ERROR(parse_option(spec, seen, t.substr(0, eq), t.substr(eq + 1)));
    } else if (partitioned && t.find('/') != std::string::npos) {
      EDGEFED_RETURN_IF_ERROR(parse_partition(t, spec.partition));
    } else if (by_label && t == "iid") {
      spec.partition.scheme = PartitionScheme::kIid;
    } else if (by_label && t == "dirichlet") {
      spec.partition.scheme = PartitionScheme::kDirichlet;
      if (i + 1 >= tok.size() || !parse_double(tok[i + 1], spec.partition.alpha) || spec.partition.alpha <= 0)
        return bad("dirichlet needs a positive alpha, e.g. dirichlet:0.5");
      ++i;
    } else if (by_label && t == "shards") {
      spec.partition.scheme = PartitionScheme::kShards;
      if (i + 1 >= tok.size() || !parse_int(tok[i + 1], spec.partition.shards) || spec.partition.shards < 1)
        return bad("shards needs a positive count, e.g. shards:2");
      ++i;
    } else {
      return bad("unexpected field '" + t + "' in '" + text + "'");
    }
  }
  if (spec.kind == DataKind::kStream) {
    if (!spec.stream_windows && (seen.horizon || seen.norm || !spec.targets.empty()))
      return bad("horizon=, target= and norm= need window= (a stream of sensor readings cut into windows)");
    if (spec.stream_windows && (seen.label || seen.classes))
      return bad("window= makes a stream of numeric readings: label= and classes= do not apply");
    if (spec.scale_by_model) return bad("norm=model is for held-out sets; a stream trains: use norm=fit or none");
    for (const auto& t : spec.targets)
      if (t.empty() || t.size() > 6 || !std::all_of(t.begin(), t.end(), [](unsigned char c) { return c >= '0' && c <= '9'; }))
        return bad("target=" + t + ": a stream's columns are 0-based indices");
  }
  if (spec.kind == DataKind::kCsv && !spec.targets.empty()) {
    if (seen.label) return bad("label= and target= are exclusive (class labels or regression targets)");
    if (seen.classes) return bad("classes= needs class labels, not target=");
    if (spec.corrupt == "labels") return bad("corrupt=labels needs class labels, not target=");
    if (spec.partition.scheme != PartitionScheme::kIid)
      return bad(describe(spec.partition) + " partitions by class label; target= (regression) is iid only");
  }
  return spec;
}

std::string to_string(const DataSpec& spec) {
  std::ostringstream o;
  switch (spec.kind) {
    case DataKind::kIdx: o << "idx:" << spec.path; break;
    case DataKind::kCsv: o << "csv:" << spec.path; break;
    case DataKind::kSeries:
      o << "series:" << spec.path << ':' << spec.partition.index << '/' << spec.partition.count
        << ":seed=" << spec.partition.seed << ":val=" << spec.validation_fraction << ":window=" << spec.window
        << ":horizon=" << spec.horizon;
      if (!spec.columns.empty()) o << ":columns=" << join(spec.columns);
      if (!spec.targets.empty()) o << ":target=" << join(spec.targets);
      if (!spec.fault.empty()) o << ":fault=" << spec.fault;
      o << ":norm=" << (spec.scale_by_model ? "model" : spec.normalize ? "fit" : "none");
      return o.str();
    case DataKind::kStream:
      if (spec.stream_windows) {
        o << "stream:" << spec.path << ":window=" << spec.window << ":horizon=" << spec.horizon;
        if (!spec.targets.empty()) o << ":target=" << join(spec.targets);
        o << ":norm=" << (spec.normalize ? "fit" : "none") << ":batch=" << spec.batch << ":buffer=" << spec.buffer;
        if (spec.features > 0) o << ":features=" << spec.features;
        return o.str();
      }
      o << "stream:" << spec.path << ":label=" << spec.label << ":batch=" << spec.batch << ":buffer=" << spec.buffer;
      if (spec.features > 0) o << ":features=" << spec.features;
      if (spec.num_classes > 0) o << ":classes=" << spec.num_classes;
      return o.str();
  }
  const auto& p = spec.partition;
  o << ':' << p.index << '/' << p.count << ':' << describe(p) << ":seed=" << p.seed
    << ":val=" << spec.validation_fraction;
  if (spec.kind == DataKind::kIdx) o << ":split=" << (spec.split == IdxSplit::kTrain ? "train" : "test");
  if (spec.kind == DataKind::kCsv) {
    if (spec.targets.empty()) {
      o << ":label=" << spec.label;
      if (spec.num_classes > 0) o << ":classes=" << spec.num_classes;
    } else {
      o << ":target=" << join(spec.targets);
    }
    if (!spec.columns.empty()) o << ":columns=" << join(spec.columns);
    if (spec.normalize) o << ":norm=fit";
  }
  if (!spec.corrupt.empty()) o << ":corrupt=" << spec.corrupt;
  return o.str();
}

}  // namespace edgefed::ml
