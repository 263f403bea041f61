// The vocabulary every part of secure aggregation (SecAgg+) shares: agent
// ids and the 32-byte keys, seeds and shared secrets the protocol moves.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace edgefed::secagg {

// An agent's id in a round or cohort. Ids are nonzero: they double as the
// x-coordinates of the agent's Shamir shares (x = 0 is the secret itself).
using AgentId = std::uint64_t;

inline constexpr std::size_t kKeyBytes = 32;

// X25519 keys and shared secrets, self-mask seeds, pairwise mask seeds and
// AEAD keys: all 256-bit values, kept whole (masks are never seeded from a
// folded, smaller integer).
using Key32 = std::array<std::uint8_t, kKeyBytes>;

// The bytes of a string (labels, session ids) as the crypto functions take them.
inline std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace edgefed::secagg
