#include <bit>
#include <cmath>
#include <random>

#include <catch2/catch.hpp>

#include "edgefed/safetensors.hpp"

using edgefed::float_to_half;
using edgefed::half_to_float;

TEST_CASE("every half survives half -> float -> half unchanged", "[unit][half]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    const bool is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
    if (is_nan) {
      REQUIRE(std::isnan(f));
      // NaNs come back quiet, with their payload.
      REQUIRE(float_to_half(f) == (h | 0x200));
    } else {
      REQUIRE(float_to_half(f) == h);
    }
  }
}

TEST_CASE("half_to_float gives the exact value of the half", "[unit][half]") {
  CHECK(half_to_float(0x3c00) == 1.0f);
  CHECK(half_to_float(0xc000) == -2.0f);
  CHECK(half_to_float(0x7bff) == 65504.0f);
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(half_to_float(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(half_to_float(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
  CHECK(std::signbit(half_to_float(0x8000)));
  CHECK(std::isinf(half_to_float(0x7c00)));
}

// Reference rounding: the nearest of the two halves around f (computed
// exactly in double), ties to the even bit pattern.
static uint16_t reference_half(float f) {
  if (std::fabs(f) >= 65520.0f) return std::signbit(f) ? 0xfc00 : 0x7c00;
  const double x = f;
  uint16_t lo = 0;
  // Halves are ordered like their bit patterns for non-negative values.
  const double a = std::fabs(x);
  uint32_t first = 0, last = 0x7bff;
  while (first < last) {  // the largest half <= a
    const uint32_t mid = (first + last + 1) / 2;
    if (half_to_float(static_cast<uint16_t>(mid)) <= a) first = mid;
    else last = mid - 1;
  }
  lo = static_cast<uint16_t>(first);
  uint16_t pick = lo;
  if (half_to_float(lo) != a) {
    const uint16_t hi = static_cast<uint16_t>(lo + 1);
    const double dlo = a - half_to_float(lo);
    const double dhi = (hi == 0x7c00 ? 65536.0 : half_to_float(hi)) - a;
    pick = dlo < dhi ? lo : dhi < dlo ? hi : ((lo & 1) ? hi : lo);
  }
  return static_cast<uint16_t>(pick | (std::signbit(f) ? 0x8000 : 0));
}

TEST_CASE("float_to_half rounds to nearest even like the reference", "[unit][half]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> exp(-30, 17);
  std::uniform_real_distribution<float> mant(-2.0f, 2.0f);
  for (int i = 0; i < 200000; ++i) {
    const float f = std::ldexp(mant(rng), exp(rng));
    INFO("f = " << f);
    REQUIRE(float_to_half(f) == reference_half(f));
  }
  // Exact ties: halfway between neighbouring halves goes to the even one.
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);              // 1 + half ulp -> 1
  CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);          // -> even neighbour
  CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);                     // tie with 0
  CHECK(float_to_half(std::ldexp(3.0f, -25)) == 0x0002);                     // tie 1|2 -> 2
  CHECK(float_to_half(std::nextafter(std::ldexp(1.0f, -25), 1.0f)) == 0x0001);
  CHECK(float_to_half(65519.0f) == 0x7bff);
  CHECK(float_to_half(65520.0f) == 0x7c00);
  CHECK(float_to_half(-1e30f) == 0xfc00);
  CHECK(float_to_half(-0.0f) == 0x8000);
}

TEST_CASE("f16 error bound of update_codec.hpp holds", "[unit][half]") {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> exp(-40, 15);
  std::uniform_real_distribution<float> mant(-1.0f, 1.0f);
  for (int i = 0; i < 200000; ++i) {
    const float x = std::ldexp(mant(rng), exp(rng));
    const double err = std::fabs(static_cast<double>(half_to_float(float_to_half(x))) - x);
    const double bound = std::fabs(x) >= std::ldexp(1.0, -14) ? std::ldexp(std::fabs(x), -11) : std::ldexp(1.0, -25);
    INFO("x = " << x);
    REQUIRE(err <= bound);
  }
}
