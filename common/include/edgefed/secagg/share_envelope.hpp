// Share envelopes: the two Shamir shares agent `from` gives its neighbour
// `to` (of its self-mask seed and of its mask secret key), sealed with
// ChaCha20-Poly1305 under the pair's share key (key_schedule.hpp) so the
// server that relays them learns nothing from them.
//
// Envelope: nonce (12 random bytes) | ciphertext | tag (16).
// Plaintext: version 1 | from (8) | to (8) | seed share | key share
//   (shares in shamir.hpp's wire form).
// AAD: "edgefed/secagg/v1/shares" | 0x00 | len(session) (4) | session |
//   from (8) | to (8), all big-endian.
// The AAD binds the envelope to its session and direction: a server that
// replays it in another round, or hands it to another agent, or swaps
// sender and recipient, gets a tag failure, not a share.
//
// Thread safety: free functions; the RandomSource must be usable from the
// calling thread.
// Errors: from == to, a bad session id or key -> kInvalidArgument; shares
// whose x is not the recipient's id -> kInvalidArgument (on seal) or
// kUnprocessable (on open); a tag mismatch -> kUnauthenticated; an envelope
// of the wrong size or a malformed plaintext -> kInvalidArgument.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "edgefed/secagg/random_source.hpp"
#include "edgefed/secagg/shamir.hpp"
#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

struct ShareBundle {
  ShamirShare self_seed_share;
  ShamirShare mask_key_share;
};

Result<std::vector<std::uint8_t>> seal_shares(const Key32& share_key, std::string_view session, AgentId from,
                                              AgentId to, const ShareBundle& shares, const RandomSource& random);
Result<ShareBundle> open_shares(const Key32& share_key, std::string_view session, AgentId from, AgentId to,
                                std::span<const std::uint8_t> envelope);

}  // namespace edgefed::secagg
