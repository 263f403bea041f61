// Arithmetic modulo the Mersenne prime p = 2^61 - 1, the field of Shamir
// secret sharing (shamir.hpp). Portable 64-bit code: the 128-bit product
// is formed from 32-bit halves, since 32-bit targets (armhf) have no
// unsigned __int128.
//
// REQUIRES for every argument: a value below kFieldPrime (callers reduce
// or validate their inputs first). Pure functions, thread-safe.
#pragma once

#include <cstdint>

namespace edgefed::secagg {

inline constexpr std::uint64_t kFieldPrime = (std::uint64_t{1} << 61) - 1;

std::uint64_t field_add(std::uint64_t a, std::uint64_t b);
std::uint64_t field_sub(std::uint64_t a, std::uint64_t b);
std::uint64_t field_mul(std::uint64_t a, std::uint64_t b);
std::uint64_t field_pow(std::uint64_t base, std::uint64_t exponent);
// The multiplicative inverse (Fermat: a^(p-2)). REQUIRES: a != 0.
std::uint64_t field_inverse(std::uint64_t a);

}  // namespace edgefed::secagg
