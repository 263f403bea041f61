#include "edgefed/secagg/prime_field.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace edgefed::secagg;

namespace {

// Reference arithmetic where the compiler has 128-bit integers; elsewhere
// (armhf) the algebraic checks below still run.
#ifdef __SIZEOF_INT128__
std::uint64_t reference_mul(std::uint64_t a, std::uint64_t b) {
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(a) * b % kFieldPrime);
}
#endif

}  // namespace

TEST_CASE("GF(2^61-1) arithmetic", "[unit][secagg][shamir]") {
  const std::uint64_t p = kFieldPrime;
  CHECK(field_add(p - 1, 1) == 0);
  CHECK(field_add(p - 1, p - 1) == p - 2);
  CHECK(field_sub(0, 1) == p - 1);
  CHECK(field_sub(5, 5) == 0);
  CHECK(field_mul(p - 1, p - 1) == 1);  // (-1)^2
  CHECK(field_mul(1ull << 60, 2) == 1);  // 2^61 = 1
  CHECK(field_pow(3, p - 1) == 1);       // Fermat
  CHECK(field_inverse(2) == (p + 1) / 2);

  std::mt19937_64 rng(61);
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t a = rng() % p;
    const std::uint64_t b = rng() % p;
    const std::uint64_t c = field_mul(a, b);
    REQUIRE(c < p);
#ifdef __SIZEOF_INT128__
    REQUIRE(c == reference_mul(a, b));
#endif
    REQUIRE(field_sub(field_add(a, b), b) == a);
    if (a != 0) {
      REQUIRE(field_mul(a, field_inverse(a)) == 1);
    }
  }
  // Extremes of the 32-bit limbs.
  const std::uint64_t one = 1;
  for (std::uint64_t a : {p - 1, (one << 32) - 1, one << 32, (one << 60) + 12345, one - 1, one}) {
    for (std::uint64_t b : {p - 1, (one << 32) - 1, one << 32, (one << 59) - 1}) {
      REQUIRE(field_mul(a, b) < p);
#ifdef __SIZEOF_INT128__
      REQUIRE(field_mul(a, b) == reference_mul(a, b));
#endif
    }
  }
}
