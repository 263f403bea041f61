#include "edgefed/sha256.hpp"

#include <openssl/evp.h>

namespace edgefed {

std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> bytes) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) digest.fill(0);
  return digest;
}

std::string sha256_hex(std::string_view bytes) {
  const auto md = sha256({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(md.size() * 2);
  for (const std::uint8_t b : md) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace edgefed
