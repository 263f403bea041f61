#include "server/engine/body_digest.hpp"

#include <xxhash.h>

#include <cstdio>
#include <string_view>

#include "edgefed/sha256.hpp"

namespace edgefed::server {
namespace {

constexpr std::string_view kPrefix = "xxh3-128:";

}  // namespace

std::string body_digest(std::span<const uint8_t> body) {
  const XXH128_hash_t h = XXH3_128bits(body.data(), body.size());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return std::string(kPrefix).append(hex, 32);
}

bool digest_matches(const std::string& stored, std::span<const uint8_t> body, const std::string& digest) {
  if (stored.rfind(kPrefix, 0) == 0) return stored == digest;
  if (stored.size() == 64) return stored == sha256_hex({reinterpret_cast<const char*>(body.data()), body.size()});
  return false;
}

bool pending_body_intact(const LedgerEntry& e, std::span<const uint8_t> body) {
  if (!e.spooled) return true;
  return !e.body_lost && !body.empty() && digest_matches(e.body_digest, body, body_digest(body));
}

}  // namespace edgefed::server
