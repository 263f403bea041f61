#include "edgefed/ml/normalizer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"

namespace edgefed::ml {
namespace {

constexpr size_t kMaxChannels = size_t{1} << 16;

// A constant channel gets std 1. The threshold is relative: float rounding
// leaves a tiny variance on a constant column, which would otherwise blow
// its values up instead of leaving them at 0. `var` is in units of scale^2.
void push_stats(double mean, double var, double scale, Normalizer& out) {
  const double sd = std::sqrt(std::max(0.0, var)) * scale;
  out.mean.push_back(mean);
  out.std.push_back(std::isfinite(sd) && sd > 1e-6 * std::max(1.0, std::abs(mean)) ? sd : 1.0);
}

void append_array(std::string& out, const std::vector<double>& v) {
  out += '[';
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    const auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, r.ptr);
  }
  out += ']';
}

Status bad(const std::string& what) { return Status(Code::kInvalidArgument, "normalizer: " + what); }

Status read_array(const nlohmann::json& j, const char* key, std::vector<double>& out) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return bad(std::string("missing array \"") + key + "\"");
  if (it->size() > kMaxChannels) return bad(std::string("\"") + key + "\" has more than 65536 channels");
  for (const auto& e : *it) {
    if (!e.is_number()) return bad(std::string("\"") + key + "\" holds a non-number");
    const double v = e.get<double>();
    if (!std::isfinite(v)) return bad(std::string("\"") + key + "\" holds a non-finite value");
    out.push_back(v);
  }
  return Status::ok();
}

}  // namespace

Normalizer Normalizer::fit(std::span<const std::vector<double>> channels) {
  Normalizer out;
  for (const auto& ch : channels) {
    // In units of the largest magnitude, so that squares of huge readings
    // cannot overflow; two passes (mean first) keep the variance accurate.
    double scale = 0;
    for (double v : ch) scale = std::max(scale, std::abs(v));
    if (ch.empty() || !(scale > 0) || !std::isfinite(scale)) {
      push_stats(ch.empty() || !std::isfinite(scale) ? 0.0 : ch[0], 0.0, 1.0, out);
      continue;
    }
    const auto n = static_cast<double>(ch.size());
    double sum = 0;
    for (double v : ch) sum += v / scale;
    const double mean = sum / n;
    double sq = 0;
    for (double v : ch) sq += (v / scale - mean) * (v / scale - mean);
    push_stats(mean * scale, sq / n, scale, out);
  }
  return out;
}

Normalizer Normalizer::fit(const FeatureMatrix& rows) {
  std::vector<std::vector<double>> channels(static_cast<size_t>(rows.cols()));
  for (Eigen::Index c = 0; c < rows.cols(); ++c)
    for (Eigen::Index r = 0; r < rows.rows(); ++r) channels[static_cast<size_t>(c)].push_back(rows(r, c));
  return fit(channels);
}

std::string Normalizer::to_string() const {
  std::string out = "{\"mean\":";
  append_array(out, mean);
  out += ",\"std\":";
  append_array(out, std);
  out += '}';
  return out;
}

Result<Normalizer> Normalizer::parse(std::string_view text) {
  auto j = parse_json(text, 4u << 20);
  if (!j) return bad(j.status().message());
  if (!j->is_object()) return bad("not a JSON object");
  Normalizer out;
  EDGEFED_RETURN_IF_ERROR(read_array(*j, "mean", out.mean));
  EDGEFED_RETURN_IF_ERROR(read_array(*j, "std", out.std));
  if (out.mean.size() != out.std.size())
    return bad("\"mean\" has " + std::to_string(out.mean.size()) + " channels, \"std\" has " +
               std::to_string(out.std.size()));
  for (double s : out.std)
    if (!(s > 0)) return bad("\"std\" holds a value <= 0");
  return out;
}

Normalizer Normalizer::from_moments(std::span<const double> mean, std::span<const double> var) {
  Normalizer out;
  for (size_t c = 0; c < mean.size(); ++c) push_stats(mean[c], var[c], 1.0, out);
  return out;
}

Status NormalizerPool::add(const Normalizer& n, double weight) {
  if (!std::isfinite(weight) || weight <= 0) return bad("pool weight must be finite and > 0");
  if (weight_ > 0 && n.channels() != sum_mean_.size())
    return bad("has " + std::to_string(n.channels()) + " channels, the pool " + std::to_string(sum_mean_.size()));
  if (weight_ <= 0) {
    sum_mean_.assign(n.channels(), 0.0);
    sum_sq_.assign(n.channels(), 0.0);
  }
  for (size_t c = 0; c < n.channels(); ++c) {
    sum_mean_[c] += weight * n.mean[c];
    sum_sq_[c] += weight * (n.std[c] * n.std[c] + n.mean[c] * n.mean[c]);
  }
  weight_ += weight;
  return Status::ok();
}

Normalizer NormalizerPool::result() const {
  std::vector<double> mean(sum_mean_.size()), var(sum_mean_.size());
  for (size_t c = 0; c < mean.size(); ++c) {
    mean[c] = sum_mean_[c] / weight_;
    var[c] = sum_sq_[c] / weight_ - mean[c] * mean[c];
  }
  return Normalizer::from_moments(mean, var);
}

}  // namespace edgefed::ml
