// SHA-256 (OpenSSL underneath) for fingerprints and content hashes.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace edgefed {
// The 32-byte digest. Should OpenSSL fail to allocate, all zeros: that
// mismatches any real digest, the safe direction for every caller (checks
// of checksums and of replays).
std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> bytes);
// Lower-case hex digest of the bytes.
std::string sha256_hex(std::string_view bytes);
}  // namespace edgefed
