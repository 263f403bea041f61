#include "edgefed/float_sums.hpp"

#include <cstddef>

namespace edgefed {
namespace {

// Independent accumulators: the compiler may keep each in a vector lane
// (no reassociation is needed), and the adds do not wait on each other.
constexpr size_t kLanes = 8;

double combine(const double (&acc)[kLanes]) {
  double s = 0.0;
  for (double a : acc) s += a;
  return s;
}

}  // namespace

double sum_squares(std::span<const float> x) {
  double acc[kLanes] = {};
  const size_t n = x.size();
  const size_t whole = n - n % kLanes;
  const float* p = x.data();
  for (size_t i = 0; i < whole; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const double v = p[i + j];
      acc[j] += v * v;
    }
  }
  for (size_t i = whole; i < n; ++i) {
    const double v = p[i];
    acc[i - whole] += v * v;
  }
  return combine(acc);
}

NormAndDot norm_and_dot(std::span<const float> x, std::span<const float> y) {
  double n2[kLanes] = {};
  double dot[kLanes] = {};
  const size_t n = x.size();
  const size_t whole = n - n % kLanes;
  const float* p = x.data();
  const float* q = y.data();
  for (size_t i = 0; i < whole; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const double a = p[i + j];
      const double b = q[i + j];
      n2[j] += a * a;
      dot[j] += a * b;
    }
  }
  for (size_t i = whole; i < n; ++i) {
    const double a = p[i];
    n2[i - whole] += a * a;
    dot[i - whole] += a * static_cast<double>(q[i]);
  }
  return {combine(n2), combine(dot)};
}

double dot(std::span<const float> x, std::span<const float> y) {
  double acc[kLanes] = {};
  const size_t n = x.size();
  const size_t whole = n - n % kLanes;
  const float* p = x.data();
  const float* q = y.data();
  for (size_t i = 0; i < whole; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(p[i + j]) * q[i + j];
  }
  for (size_t i = whole; i < n; ++i) acc[i - whole] += static_cast<double>(p[i]) * q[i];
  return combine(acc);
}

}  // namespace edgefed
