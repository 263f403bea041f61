// SHA-256 (OpenSSL underneath) for fingerprints and content hashes.
#pragma once
#include <string>
#include <string_view>

namespace edgefed {
// Lower-case hex digest of the bytes.
std::string sha256_hex(std::string_view bytes);
}  // namespace edgefed
