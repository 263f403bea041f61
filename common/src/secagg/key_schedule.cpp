#include "edgefed/secagg/key_schedule.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>
#include <vector>

#include "edgefed/secagg/hkdf.hpp"
#include "wire.hpp"

namespace edgefed::secagg {
namespace {

constexpr std::string_view kSalt = "edgefed/secagg/v1";

Result<Key32> derive(std::string_view purpose, const Key32& shared_secret, std::string_view session, AgentId a,
                     AgentId b) {
  if (a == b) return Status(Code::kInvalidArgument, "pairwise key of agent " + std::to_string(a) + " with itself");
  if (session.empty() || session.size() > kMaxSessionBytes) {
    return Status(Code::kInvalidArgument, "secure aggregation session id must be 1..1024 bytes");
  }
  std::vector<std::uint8_t> info(purpose.begin(), purpose.end());
  info.push_back(0);
  wire::put_be(info, session.size(), 4);
  info.insert(info.end(), session.begin(), session.end());
  wire::put_be(info, std::min(a, b), 8);
  wire::put_be(info, std::max(a, b), 8);
  auto okm = hkdf_sha256(shared_secret, bytes_of(kSalt), info, kKeyBytes);
  if (!okm.is_ok()) return okm.status();
  Key32 key{};
  std::copy(okm->begin(), okm->end(), key.begin());
  OPENSSL_cleanse(okm->data(), okm->size());
  return key;
}

}  // namespace

Result<Key32> derive_mask_seed(const Key32& shared_secret, std::string_view session, AgentId a, AgentId b) {
  return derive("pairwise mask seed", shared_secret, session, a, b);
}

Result<Key32> derive_share_key(const Key32& shared_secret, std::string_view session, AgentId a, AgentId b) {
  return derive("share envelope key", shared_secret, session, a, b);
}

}  // namespace edgefed::secagg
