// The per-round keys two agents derive from an X25519 shared secret, with
// HKDF-SHA256 (hkdf.hpp):
//   salt = "edgefed/secagg/v1"
//   info = purpose label | 0x00 | len(session) (4 bytes, big-endian) |
//          session | min(a, b) (8 bytes) | max(a, b) (8 bytes)
// The session is the round or async cohort id, so a pair of agents that
// meets again in another round gets unrelated keys; both agents order the
// ids the same way, so both derive the same key. Purposes:
//   mask seed (from the mask key pairs' secret): the 256-bit PRG seed of
//     the pair's mask s_uv;
//   share key (from the encryption key pairs' secret): the AEAD key of the
//     share envelopes between the pair.
//
// Thread safety: free functions without shared state.
// Errors: a == b, an empty session or one over 1 KiB ->
// kInvalidArgument; an OpenSSL failure -> kInternal.
#pragma once

#include <string_view>

#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

inline constexpr std::size_t kMaxSessionBytes = 1024;

Result<Key32> derive_mask_seed(const Key32& shared_secret, std::string_view session, AgentId a, AgentId b);
Result<Key32> derive_share_key(const Key32& shared_secret, std::string_view session, AgentId a, AgentId b);

}  // namespace edgefed::secagg
