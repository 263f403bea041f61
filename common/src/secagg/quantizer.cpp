#include "edgefed/secagg/quantizer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace edgefed::secagg {
namespace {

constexpr std::uint64_t kRingHalf = std::uint64_t{1} << 31;  // 2^31

}  // namespace

Quantizer::Quantizer(std::size_t cohort_size, double clip, std::uint32_t max_level)
    : cohort_size_(cohort_size), clip_(clip), max_level_(max_level), scale_(max_level / clip) {}

Result<Quantizer> Quantizer::create(std::size_t cohort_size, double clip) {
  if (cohort_size == 0) return Status(Code::kInvalidArgument, "quantizer cohort size must be at least 1");
  if (!std::isfinite(clip) || clip <= 0) {
    return Status(Code::kInvalidArgument, "quantizer clip bound must be finite and positive");
  }
  const std::uint64_t max_level = (kRingHalf - 1) / cohort_size;
  if (max_level < 1) {
    return Status(Code::kInvalidArgument,
                  "quantizer cohort size " + std::to_string(cohort_size) + " leaves no room in 32 bits");
  }
  return Quantizer(cohort_size, clip, static_cast<std::uint32_t>(max_level));
}

Result<std::vector<std::uint32_t>> Quantizer::quantize(std::span<const float> values, double weight) const {
  if (!std::isfinite(weight)) return Status(Code::kNonFinite, "quantizer weight is not finite");
  std::vector<std::uint32_t> out(values.size());
  const double level = max_level_;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return Status(Code::kNonFinite, "value " + std::to_string(i) + " to quantize is not finite");
    }
    const double v = std::clamp(weight * static_cast<double>(values[i]), -clip_, clip_);
    // |v * scale| <= L; the clamp guards the last ulp of rounding.
    const double q = std::clamp(std::nearbyint(v * scale_), -level, level);
    // Two's complement: the ring element of a negative q is 2^32 - |q|.
    out[i] = static_cast<std::uint32_t>(static_cast<std::int64_t>(q));
  }
  return out;
}

Result<std::vector<float>> Quantizer::dequantize_sum(std::span<const std::uint32_t> ring_sum) const {
  const std::int64_t limit = static_cast<std::int64_t>(cohort_size_) * max_level_;
  std::vector<float> out(ring_sum.size());
  for (std::size_t i = 0; i < ring_sum.size(); ++i) {
    // Centered reading: [2^31, 2^32) are the negative sums.
    const std::int64_t s = ring_sum[i] >= kRingHalf ? static_cast<std::int64_t>(ring_sum[i]) - (std::int64_t{1} << 32)
                                                    : static_cast<std::int64_t>(ring_sum[i]);
    if (s > limit || s < -limit) {
      return Status(Code::kUnprocessable, "ring sum at coordinate " + std::to_string(i) +
                                              " is outside what " + std::to_string(cohort_size_) +
                                              " quantized inputs can add up to (masks left in, or too many inputs)");
    }
    out[i] = static_cast<float>(static_cast<double>(s) / scale_);
  }
  return out;
}

}  // namespace edgefed::secagg
