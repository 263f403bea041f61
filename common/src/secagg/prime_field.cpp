#include "edgefed/secagg/prime_field.hpp"

namespace edgefed::secagg {
namespace {

// x mod p for x < 2^64: 2^61 = 1 (mod p), so fold the top bits down.
std::uint64_t reduce(std::uint64_t x) {
  x = (x & kFieldPrime) + (x >> 61);
  return x >= kFieldPrime ? x - kFieldPrime : x;
}

}  // namespace

std::uint64_t field_add(std::uint64_t a, std::uint64_t b) { return reduce(a + b); }

std::uint64_t field_sub(std::uint64_t a, std::uint64_t b) { return a >= b ? a - b : a + kFieldPrime - b; }

std::uint64_t field_mul(std::uint64_t a, std::uint64_t b) {
  // 128-bit product hi:lo from 32-bit limbs.
  const std::uint64_t a0 = a & 0xffffffffu, a1 = a >> 32;
  const std::uint64_t b0 = b & 0xffffffffu, b1 = b >> 32;
  const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const std::uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
  const std::uint64_t lo = (p00 & 0xffffffffu) | (mid << 32);
  const std::uint64_t hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
  // a, b < 2^61, so the product is below 2^122 and hi below 2^58.
  // hi * 2^64 + lo = hi * 2^3 * 2^61 + (lo >> 61) * 2^61 + (lo & p)
  //               = (hi << 3) + (lo >> 61) + (lo & p)   (mod p),
  // a sum below 2^62 that reduce() folds once more.
  return reduce((hi << 3) + (lo >> 61) + (lo & kFieldPrime));
}

std::uint64_t field_pow(std::uint64_t base, std::uint64_t exponent) {
  std::uint64_t result = 1;
  while (exponent != 0) {
    if (exponent & 1) result = field_mul(result, base);
    base = field_mul(base, base);
    exponent >>= 1;
  }
  return result;
}

std::uint64_t field_inverse(std::uint64_t a) { return field_pow(a, kFieldPrime - 2); }

}  // namespace edgefed::secagg
