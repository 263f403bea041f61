// Shamir secret sharing of a 32-byte secret (an agent's self-mask seed or
// its mask secret key) among its neighbours, threshold t: any t shares
// give the secret back, fewer reveal nothing about it.
//
// Field: p = 2^61 - 1 (prime_field.hpp). The secret is cut into five
// chunks below p (four of 7 bytes, one of 4, big-endian), each shared with
// its own random polynomial of degree t - 1, all evaluated at the holder's
// x-coordinate: its nonzero agent id. Polynomial coefficients come from
// the RandomSource by rejection sampling, so they are uniform in the field.
//
// Wire form of a share (kShareWireBytes = 51, big-endian):
//   version 1 (1 byte) | threshold (2) | x (8) | y[0..4] (5 x 8)
//
// Thread safety: free functions; the RandomSource must be usable from the
// calling thread.
// Errors: a threshold of 0 or above the number of holders, more than 65535
// holders, an x-coordinate of 0 or >= p, the same x twice, a malformed
// share or share bytes -> kInvalidArgument; fewer than `threshold` shares,
// shares of another threshold, or shares that do not lie on one polynomial
// (detected when more than t are given, or when a chunk comes back out of
// range) -> kUnprocessable; a failing RandomSource -> its Status.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "edgefed/secagg/random_source.hpp"
#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

inline constexpr std::size_t kShareChunks = 5;
inline constexpr std::size_t kShareWireBytes = 1 + 2 + 8 + 8 * kShareChunks;
inline constexpr std::size_t kMaxShareHolders = 65535;

struct ShamirShare {
  std::uint64_t x = 0;          // the holder's agent id
  std::uint16_t threshold = 0;  // t the share was made for
  std::array<std::uint64_t, kShareChunks> y{};

  bool operator==(const ShamirShare&) const = default;
};

// One share per x in `holders`, in that order.
Result<std::vector<ShamirShare>> shamir_share(const Key32& secret, std::size_t threshold,
                                              std::span<const AgentId> holders, const RandomSource& random);
// The secret from at least `threshold` shares (Lagrange interpolation at 0
// on the first t; any further shares are checked against the polynomial).
Result<Key32> shamir_reconstruct(std::span<const ShamirShare> shares, std::size_t threshold);

std::vector<std::uint8_t> serialize_share(const ShamirShare& share);
Result<ShamirShare> parse_share(std::span<const std::uint8_t> bytes);

}  // namespace edgefed::secagg
