// Robust location and scale for outlier scores: the median and the median
// absolute deviation (MAD) of a sliding window of recent values. The MAD is
// scaled by 1.4826 so it estimates the standard deviation of normal data,
// and is floored so a fleet of identical updates does not divide by zero.
// Not thread-safe (the owner locks).
#pragma once

#include <cstddef>
#include <deque>
#include <span>
#include <vector>

namespace edgefed::server::monitor {

double median(std::vector<double> values);  // 0 for no values

struct RobustScale {
  double center = 0;  // median
  double scale = 0;   // 1.4826 * MAD, >= floor
};
// REQUIRES: floor > 0.
RobustScale robust_scale(std::span<const double> values, double floor);

class RobustWindow {
 public:
  explicit RobustWindow(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  void add(double v);
  size_t size() const { return values_.size(); }
  RobustScale scale(double floor) const;

 private:
  size_t capacity_;
  std::deque<double> values_;
};

}  // namespace edgefed::server::monitor
