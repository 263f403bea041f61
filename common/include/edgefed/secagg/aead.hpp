// ChaCha20-Poly1305 (RFC 8439 section 2.8, OpenSSL 3's EVP) for the
// Shamir shares one agent sends another through the server: the server
// relays them but can neither read nor alter them undetected.
//
// Sealed form: ciphertext || 16-byte tag. A (key, nonce) pair must never
// seal twice; share_envelope.hpp draws a random nonce per envelope.
// Thread safety: free functions without shared state.
// Errors: a key that is not 32 bytes or a nonce that is not 12 bytes, a
// sealed input shorter than the tag, or inputs over 2 GiB ->
// kInvalidArgument; a tag that does not verify (altered ciphertext, tag,
// AAD, nonce, or the wrong key) -> kUnauthenticated, and no plaintext;
// an OpenSSL failure -> kInternal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::secagg {

inline constexpr std::size_t kAeadKeyBytes = 32;
inline constexpr std::size_t kAeadNonceBytes = 12;
inline constexpr std::size_t kAeadTagBytes = 16;

Result<std::vector<std::uint8_t>> aead_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                                            std::span<const std::uint8_t> aad,
                                            std::span<const std::uint8_t> plaintext);
Result<std::vector<std::uint8_t>> aead_open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                                            std::span<const std::uint8_t> aad, std::span<const std::uint8_t> sealed);

}  // namespace edgefed::secagg
