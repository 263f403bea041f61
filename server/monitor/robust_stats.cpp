#include "server/monitor/robust_stats.hpp"

#include <algorithm>
#include <cmath>

namespace edgefed::server::monitor {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double hi = v[mid];
  if (v.size() % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lo + hi);
}

RobustScale robust_scale(std::span<const double> values, double floor) {
  RobustScale r;
  r.center = median({values.begin(), values.end()});
  std::vector<double> dev;
  dev.reserve(values.size());
  for (double v : values) dev.push_back(std::abs(v - r.center));
  r.scale = std::max(1.4826 * median(std::move(dev)), floor);
  return r;
}

void RobustWindow::add(double v) {
  values_.push_back(v);
  while (values_.size() > capacity_) values_.pop_front();
}

RobustScale RobustWindow::scale(double floor) const {
  std::vector<double> v(values_.begin(), values_.end());
  return robust_scale(v, floor);
}

}  // namespace edgefed::server::monitor
