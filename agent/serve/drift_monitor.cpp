#include "agent/serve/drift_monitor.hpp"

#include <algorithm>
#include <cmath>

namespace edgefed::agent {
namespace {

double shift(double live, double mean, double std, double floor) {
  return std::min(100.0, std::fabs(live - mean) / std::max(std, floor));
}

}  // namespace

DriftReference DriftMonitor::reference(int64_t version, const ml::Dataset& holdout, const std::vector<double>& outputs,
                                       bool with_inputs) {
  DriftReference r;
  r.version = version;
  r.samples = holdout.size();
  const int64_t d = with_inputs ? holdout.dim() : 0;
  r.feature_mean.assign(static_cast<size_t>(d), 0.0);
  r.feature_std.assign(static_cast<size_t>(d), 0.0);
  if (r.samples == 0) return r;
  for (int64_t i = 0; i < r.samples; ++i) {
    const float* x = holdout.features(i);
    for (int64_t j = 0; j < d; ++j) r.feature_mean[j] += x[j];
  }
  for (auto& m : r.feature_mean) m /= static_cast<double>(r.samples);
  for (int64_t i = 0; i < r.samples; ++i) {
    const float* x = holdout.features(i);
    for (int64_t j = 0; j < d; ++j) r.feature_std[j] += (x[j] - r.feature_mean[j]) * (x[j] - r.feature_mean[j]);
  }
  double mean_std = 0;
  for (auto& s : r.feature_std) {
    s = std::sqrt(s / static_cast<double>(r.samples));
    mean_std += s;
  }
  if (d > 0) r.std_floor = std::max(1e-3, 0.1 * mean_std / static_cast<double>(d));
  if (!outputs.empty()) {
    double sum = 0, sq = 0;
    for (double o : outputs) sum += o;
    r.output_mean = sum / static_cast<double>(outputs.size());
    for (double o : outputs) sq += (o - r.output_mean) * (o - r.output_mean);
    r.output_std = std::sqrt(sq / static_cast<double>(outputs.size()));
  }
  return r;
}

void DriftMonitor::reset(DriftReference reference) {
  std::lock_guard lock(mu_);
  ref_ = std::move(reference);
  inputs_.clear();
  outputs_.clear();
  input_sum_.assign(ref_->feature_mean.size(), 0.0);
  output_sum_ = 0;
}

void DriftMonitor::observe(const float* input, int64_t width, double output) {
  std::lock_guard lock(mu_);
  if (!ref_ || width != static_cast<int64_t>(ref_->feature_mean.size()) || !std::isfinite(output)) return;
  inputs_.emplace_back(input, input + width);
  outputs_.push_back(output);
  for (int64_t j = 0; j < width; ++j) input_sum_[j] += input[j];
  output_sum_ += output;
  if (static_cast<int64_t>(outputs_.size()) > window_) {
    const auto& old = inputs_.front();
    for (int64_t j = 0; j < width; ++j) input_sum_[j] -= old[j];
    output_sum_ -= outputs_.front();
    inputs_.pop_front();
    outputs_.pop_front();
  }
}

std::optional<DriftReport> DriftMonitor::report(int64_t min_samples) const {
  std::lock_guard lock(mu_);
  const auto n = static_cast<int64_t>(outputs_.size());
  if (!ref_ || n < std::max<int64_t>(1, min_samples)) return std::nullopt;
  DriftReport r;
  r.version = ref_->version;
  r.window = n;
  const size_t d = ref_->feature_mean.size();
  double in = 0;
  for (size_t j = 0; j < d; ++j)
    in += shift(input_sum_[j] / static_cast<double>(n), ref_->feature_mean[j], ref_->feature_std[j], ref_->std_floor);
  r.input_shift = d ? in / static_cast<double>(d) : 0;
  r.output_mean = output_sum_ / static_cast<double>(n);
  r.output_shift = ref_->samples > 0 ? shift(r.output_mean, ref_->output_mean, ref_->output_std, 1e-3) : 0;
  r.score = std::max(r.input_shift, r.output_shift);
  return r;
}

}  // namespace edgefed::agent
