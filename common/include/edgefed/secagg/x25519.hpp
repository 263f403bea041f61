// X25519 (RFC 7748) over OpenSSL 3: the key agreement of secure
// aggregation. Each agent holds two key pairs per round: one whose shared
// secrets key the AEAD that carries Shamir shares between agents, and one
// whose shared secrets seed the pairwise masks. Only the second is ever
// Shamir-shared (and reconstructed for a dropout), so revealing it never
// opens the share envelopes.
//
// Keys are raw 32-byte strings in RFC 7748 encoding.
// Thread safety: free functions without shared state.
// Errors: a key of the wrong length -> kInvalidArgument; a peer key of low
// order, whose agreement is the all-zero secret -> kUnprocessable;
// an OpenSSL failure -> kInternal.
#pragma once

#include <cstdint>
#include <span>

#include "edgefed/secagg/random_source.hpp"
#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

struct X25519KeyPair {
  Key32 secret_key{};
  Key32 public_key{};
};

// A fresh key pair; the secret key is 32 bytes of `random`.
Result<X25519KeyPair> x25519_keypair(const RandomSource& random);
// The public key of a secret key (scalar times the base point 9).
Result<Key32> x25519_public_key(std::span<const std::uint8_t> secret_key);
// The shared secret X25519(secret_key, peer_public_key).
Result<Key32> x25519_agree(std::span<const std::uint8_t> secret_key,
                           std::span<const std::uint8_t> peer_public_key);

}  // namespace edgefed::secagg
