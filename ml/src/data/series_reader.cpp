#include "edgefed/ml/series_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "edgefed/ml/corrupt.hpp"
#include "edgefed/ml/csv_reader.hpp"

namespace edgefed::ml {
namespace {

// Windows are copies (each reading appears W times): bound their memory.
constexpr int64_t kMaxWindowFloats = int64_t{1} << 28;

Status bad(const DataSpec& spec, const std::string& what) {
  return Status(Code::kInvalidArgument, "--data series:" + spec.path + ": " + what);
}

bool is_index_token(const std::string& s) {
  return !s.empty() && s.size() < 7 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out.append(out.empty() ? "" : ",").append(s);
  if (out.size() > 200) out.resize(200);
  return out;
}

// The fault stream of one agent: independent of the partition's other uses.
uint64_t fault_seed(const PartitionSpec& p) {
  return (p.seed ^ 0x6661756c74ULL) + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(p.index + 1);
}

}  // namespace

Result<SeriesTable> read_series(const DataSpec& spec) {
  if (spec.kind != DataKind::kSeries) return Status(Code::kInvalidArgument, "read_series: not a series: spec");
  // With columns= the targets are read along (they may be other columns);
  // without, every numeric column is read and the targets are found in it.
  std::vector<std::string> wanted = spec.columns;
  if (!spec.columns.empty()) wanted.insert(wanted.end(), spec.targets.begin(), spec.targets.end());
  auto cols = read_csv_columns(spec.path, wanted);
  if (!cols) return cols.status();
  // Without a header the first reading would pass for a column name.
  if (!cols->has_header) return bad(spec, "the first line must be a header naming the columns");
  const size_t nf = spec.columns.empty() ? cols->names.size() : spec.columns.size();
  SeriesTable t;
  std::vector<size_t> file_index;
  for (size_t i = 0; i < nf; ++i) {
    if (std::find(file_index.begin(), file_index.end(), cols->indices[i]) != file_index.end())
      return bad(spec, "columns= names column '" + cols->names[i] + "' twice");
    file_index.push_back(cols->indices[i]);
    t.names.push_back(cols->names[i]);
    t.values.push_back(std::move(cols->values[i]));
  }
  t.features = nf;
  if (spec.targets.empty()) {
    for (size_t i = 0; i < nf; ++i) t.targets.push_back(i);
    return t;
  }
  for (size_t k = 0; k < spec.targets.size(); ++k) {
    const std::string& token = spec.targets[k];
    size_t src = 0;  // position in cols
    if (!spec.columns.empty()) {
      src = nf + k;
    } else {
      const auto& names = cols->names;
      src = names.size();
      for (size_t i = 0; i < names.size() && src == names.size(); ++i)
        if (is_index_token(token) ? std::to_string(cols->indices[i]) == token : names[i] == token) src = i;
      if (src == names.size())
        return bad(spec, "target=" + token + " is not among the numeric columns (" + join(names) + ")");
    }
    const size_t fi = cols->indices[src];
    size_t pos = static_cast<size_t>(std::find(file_index.begin(), file_index.end(), fi) - file_index.begin());
    if (pos == file_index.size()) {
      file_index.push_back(fi);
      t.names.push_back(cols->names[src]);
      t.values.push_back(cols->values[src]);
    }
    if (std::find(t.targets.begin(), t.targets.end(), pos) != t.targets.end())
      return bad(spec, "target= names column '" + t.names[pos] + "' twice");
    t.targets.push_back(pos);
  }
  return t;
}

Result<LocalData> slice_series(const SeriesTable& table, const DataSpec& spec) {
  const auto& p = spec.partition;
  if (p.count < 1 || p.index < 0 || p.index >= p.count)
    return bad(spec, "bad partition " + std::to_string(p.index) + "/" + std::to_string(p.count));
  const int64_t W = spec.window, H = spec.horizon;
  if (W < 1) return bad(spec, "window=" + std::to_string(W) + " must be a positive integer");
  if (H < 1) return bad(spec, "horizon=" + std::to_string(H) + " must be a positive integer");
  if (table.features == 0 || table.targets.empty() || table.values.size() < table.features)
    return bad(spec, "no feature or target columns");
  const int64_t n = table.rows();
  for (const auto& col : table.values)
    if (static_cast<int64_t>(col.size()) != n) return bad(spec, "columns of different lengths");
  for (size_t c : table.targets)
    if (c >= table.values.size()) return bad(spec, "target column " + std::to_string(c) + " is not in the table");
  const int64_t begin = n * p.index / p.count;
  const int64_t end = n * (p.index + 1) / p.count;
  const int64_t m = end - begin;
  if (m < W + H)
    return bad(spec, "agent " + std::to_string(p.index) + "/" + std::to_string(p.count) + " holds " +
                         std::to_string(m) + " of " + std::to_string(n) + " rows; window=" + std::to_string(W) +
                         " + horizon=" + std::to_string(H) + " needs at least " + std::to_string(W + H));
  const int64_t windows = m - W - H + 1;
  const auto C = static_cast<int64_t>(table.features);
  const auto T = static_cast<int64_t>(table.targets.size());
  if (static_cast<double>(windows) * static_cast<double>(C * W + T * H) > static_cast<double>(kMaxWindowFloats))
    return bad(spec, std::to_string(windows) + " windows of window=" + std::to_string(W) + " exceed " +
                         std::to_string(kMaxWindowFloats) + " floats; use a smaller window or more agents");

  std::vector<std::vector<double>> local;
  for (const auto& col : table.values) local.emplace_back(col.begin() + begin, col.begin() + end);
  SeriesInfo info;
  info.faulty_rows = apply_series_fault(local, spec.fault, fault_seed(p));

  // The same hold-out size rule as split_validation(), but the last windows.
  int64_t nval = std::llround(std::clamp(spec.validation_fraction, 0.0, 1.0) * static_cast<double>(windows));
  if (spec.validation_fraction > 0 && windows >= 2) nval = std::max<int64_t>(nval, 1);
  nval = std::min(nval, windows - 1);
  const int64_t ntrain = windows - nval;

  LocalData out;
  std::vector<double> mean(local.size(), 0.0), sd(local.size(), 1.0);
  if (spec.normalize) {
    // Rows any training window reads or predicts; validation-only rows stay unseen.
    const auto covered = static_cast<std::ptrdiff_t>(ntrain - 1 + W + H);
    std::vector<std::vector<double>> fit_rows;
    for (const auto& col : local) fit_rows.emplace_back(col.begin(), col.begin() + covered);
    Normalizer fitted = Normalizer::fit(fit_rows);
    mean = fitted.mean;
    sd = fitted.std;
    Normalizer n_out;
    for (int64_t f = 0; f < C; ++f) {
      n_out.mean.push_back(mean[static_cast<size_t>(f)]);
      n_out.std.push_back(sd[static_cast<size_t>(f)]);
    }
    for (size_t c : table.targets) {
      n_out.mean.push_back(mean[c]);
      n_out.std.push_back(sd[c]);
    }
    out.normalizer = std::move(n_out);
  }

  auto store = std::make_shared<DataStore>();
  store->features.resize(windows, C * W);
  store->targets.resize(windows, T * H);
  // Every reading goes through here: a huge raw value (norm=none) or a
  // degenerate fit could leave a float that is not finite.
  bool overflow = false;
  auto scaled = [&](double v, double mu, double s) {
    const auto f = static_cast<float>((v - mu) / s);
    overflow |= !std::isfinite(f);
    return f;
  };
  for (int64_t t = 0; t < windows; ++t) {
    for (int64_t f = 0; f < C; ++f) {
      const auto& col = local[static_cast<size_t>(f)];
      const double mu = mean[static_cast<size_t>(f)], s = sd[static_cast<size_t>(f)];
      for (int64_t k = 0; k < W; ++k) store->features(t, f * W + k) = scaled(col[static_cast<size_t>(t + k)], mu, s);
    }
    for (int64_t c = 0; c < T; ++c) {
      const size_t src = table.targets[static_cast<size_t>(c)];
      const auto& col = local[src];
      for (int64_t h = 0; h < H; ++h)
        store->targets(t, c * H + h) = scaled(col[static_cast<size_t>(t + W + h)], mean[src], sd[src]);
    }
  }
  if (overflow) return bad(spec, "a value does not fit a float after scaling (use norm=fit, or smaller units)");

  // A window is faulty when its input holds a faulty reading: prefix sums of
  // the row flags make that O(1) per window.
  std::vector<int64_t> bad_before(static_cast<size_t>(m) + 1, 0);
  for (int64_t r = 0; r < m; ++r)
    bad_before[static_cast<size_t>(r + 1)] =
        bad_before[static_cast<size_t>(r)] + info.faulty_rows[static_cast<size_t>(r)];
  auto window_faulty = [&](int64_t t) {
    return static_cast<uint8_t>(bad_before[static_cast<size_t>(t + W)] > bad_before[static_cast<size_t>(t)]);
  };
  std::vector<uint32_t> train_rows, val_rows;
  for (int64_t t = 0; t < windows; ++t) {
    if (t < ntrain) {
      train_rows.push_back(static_cast<uint32_t>(t));
      info.train_faulty.push_back(window_faulty(t));
    } else {
      val_rows.push_back(static_cast<uint32_t>(t));
      info.validation_faulty.push_back(window_faulty(t));
    }
  }
  info.window = static_cast<int>(W);
  info.horizon = static_cast<int>(H);
  info.channels.assign(table.names.begin(), table.names.begin() + C);
  for (size_t c : table.targets) info.targets.push_back(table.names[c]);
  info.first_row = begin;

  std::shared_ptr<const DataStore> shared = std::move(store);
  out.train = Dataset(shared, std::move(train_rows));
  out.validation = Dataset(std::move(shared), std::move(val_rows));
  out.series = std::move(info);
  return out;
}

}  // namespace edgefed::ml
