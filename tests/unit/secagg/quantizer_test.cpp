#include "edgefed/secagg/quantizer.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

using namespace edgefed;
using namespace edgefed::secagg;

TEST_CASE("quantizer parameters and refusals", "[unit][secagg][quantizer]") {
  auto q = Quantizer::create(100, 1.0);
  REQUIRE(q.is_ok());
  CHECK(q->max_level() == (2147483647u / 100));
  CHECK(q->step() == Approx(1.0 / q->max_level()));
  CHECK(q->error_bound(100) == Approx(100 * q->step() / 2));
  CHECK(static_cast<std::uint64_t>(q->cohort_size()) * q->max_level() <= 2147483647u);

  CHECK(Quantizer::create(0, 1.0).status().code() == Code::kInvalidArgument);
  CHECK(Quantizer::create(10, 0.0).status().code() == Code::kInvalidArgument);
  CHECK(Quantizer::create(10, -1.0).status().code() == Code::kInvalidArgument);
  CHECK(Quantizer::create(10, std::numeric_limits<double>::quiet_NaN()).status().code() == Code::kInvalidArgument);
  CHECK(Quantizer::create(10, std::numeric_limits<double>::infinity()).status().code() == Code::kInvalidArgument);
  CHECK(Quantizer::create(std::size_t{1} << 31, 1.0).status().code() == Code::kInvalidArgument);
  CHECK(Quantizer::create(2147483647u, 1.0).is_ok());  // L = 1: the coarsest that fits
}

TEST_CASE("a quantized sum of K updates dequantizes within K * step / 2", "[unit][secagg][quantizer]") {
  const std::size_t k = GENERATE(1, 7, 50);
  const double clip = GENERATE(0.01, 1.0, 300.0);
  auto q = Quantizer::create(k, clip);
  REQUIRE(q.is_ok());
  std::mt19937 rng(static_cast<unsigned>(k * 1000 + clip));
  std::uniform_real_distribution<float> dist(static_cast<float>(-clip), static_cast<float>(clip));
  const std::size_t dim = 500;
  std::vector<std::uint32_t> ring(dim, 0);
  std::vector<double> plain(dim, 0.0);
  for (std::size_t u = 0; u < k; ++u) {
    std::vector<float> x(dim);
    for (float& v : x) v = dist(rng);
    auto qx = q->quantize(x);
    REQUIRE(qx.is_ok());
    for (std::size_t i = 0; i < dim; ++i) {
      ring[i] += (*qx)[i];
      plain[i] += x[i];
    }
  }
  auto sum = q->dequantize_sum(ring);
  REQUIRE(sum.is_ok());
  for (std::size_t i = 0; i < dim; ++i) {
    const double tolerance = q->error_bound(k) * (1 + 0x1p-24) + std::abs(plain[i]) * 0x1p-24;  // + float rounding
    REQUIRE(std::abs((*sum)[i] - plain[i]) <= tolerance);
  }
}

TEST_CASE("clipping keeps K extreme values from wrapping", "[unit][secagg][quantizer]") {
  const std::size_t k = 13;
  auto q = Quantizer::create(k, 2.0);
  REQUIRE(q.is_ok());
  for (float extreme : {2.0f, 5.0f, 1e30f, -2.0f, -1e30f}) {
    auto one = q->quantize(std::vector<float>{extreme});
    REQUIRE(one.is_ok());
    std::uint32_t ring = 0;
    for (std::size_t u = 0; u < k; ++u) ring += (*one)[0];
    auto sum = q->dequantize_sum(std::vector<std::uint32_t>{ring});
    REQUIRE(sum.is_ok());
    CHECK((*sum)[0] == Approx(extreme > 0 ? 2.0 * k : -2.0 * k).epsilon(1e-6));
  }
  auto top = q->quantize(std::vector<float>{1e9f, -1e9f});
  REQUIRE(top.is_ok());
  CHECK((*top)[0] == q->max_level());
  CHECK((*top)[1] == static_cast<std::uint32_t>(-static_cast<std::int64_t>(q->max_level())));
}

TEST_CASE("weights apply before clipping and rounding", "[unit][secagg][quantizer]") {
  auto q = Quantizer::create(4, 1.0);
  REQUIRE(q.is_ok());
  const std::vector<float> x = {0.5f, -0.25f, 0.9f, 0.0f};
  auto weighted = q->quantize(x, 0.5);
  const std::vector<float> pre = {0.25f, -0.125f, 0.45f, 0.0f};
  auto manual = q->quantize(pre);
  REQUIRE(weighted.is_ok());
  REQUIRE(manual.is_ok());
  CHECK(*weighted == *manual);
  auto doubled = q->quantize(x, 2.0);  // 1.8 clips to 1.0
  REQUIRE(doubled.is_ok());
  CHECK((*doubled)[2] == q->max_level());
  auto back = q->dequantize_sum(*weighted);
  REQUIRE(back.is_ok());
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(std::abs((*back)[i] - pre[i]) <= q->step() / 2 + 1e-9);
}

TEST_CASE("non-finite inputs and impossible sums are refused", "[unit][secagg][quantizer]") {
  auto q = Quantizer::create(3, 1.0);
  REQUIRE(q.is_ok());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(q->quantize(std::vector<float>{0.1f, nan}).status().code() == Code::kNonFinite);
  CHECK(q->quantize(std::vector<float>{inf}).status().code() == Code::kNonFinite);
  CHECK(q->quantize(std::vector<float>{0.1f}, std::nan("")).status().code() == Code::kNonFinite);
  // 3 * L is the largest possible sum; anything beyond means masks or too many inputs.
  const std::uint32_t limit = 3 * q->max_level();
  CHECK(q->dequantize_sum(std::vector<std::uint32_t>{limit}).is_ok());
  CHECK(q->dequantize_sum(std::vector<std::uint32_t>{static_cast<std::uint32_t>(-static_cast<std::int64_t>(limit))})
            .is_ok());
  auto beyond = q->dequantize_sum(std::vector<std::uint32_t>{limit + 1});
  REQUIRE_FALSE(beyond.is_ok());
  CHECK(beyond.status().code() == Code::kUnprocessable);
  CHECK(q->quantize(std::vector<float>{}).is_ok());
}
