// HKDF-SHA256 (RFC 5869) over OpenSSL 3's EVP_KDF: turns X25519 shared
// secrets into per-round, per-pair keys (key_schedule.hpp).
//
// Thread safety: free functions without shared state.
// Errors: empty input key material, a PRK shorter than 32 bytes, an output
// length of 0 or above 255 * 32 bytes -> kInvalidArgument; an OpenSSL
// failure -> kInternal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

inline constexpr std::size_t kHkdfMaxOutput = 255 * 32;

// PRK = HMAC-SHA256(salt, ikm); an empty salt means 32 zero bytes.
Result<Key32> hkdf_sha256_extract(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm);
// OKM = the first `length` bytes of T(1) | T(2) | ... under `prk`.
Result<std::vector<std::uint8_t>> hkdf_sha256_expand(std::span<const std::uint8_t> prk,
                                                     std::span<const std::uint8_t> info, std::size_t length);
// Extract then expand.
Result<std::vector<std::uint8_t>> hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                                              std::span<const std::uint8_t> info, std::size_t length);

}  // namespace edgefed::secagg
