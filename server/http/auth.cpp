#include "server/http/auth.hpp"

#include <openssl/crypto.h>

#include "edgefed/protocol.hpp"
#include "edgefed/sha256.hpp"

namespace edgefed::server::http {

Authenticator::Authenticator(std::string admin_token)
    : token_digest_(admin_token.empty() ? std::string() : sha256_hex(admin_token)) {}

bool Authenticator::is_admin_cert(const PeerIdentity& peer) {
  return peer.has_cert && peer.org_unit == "admin";
}

bool Authenticator::token_matches(std::string_view header) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (token_digest_.empty() || header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer)
    return false;
  // Compare digests: equal length, constant time, no length leak.
  const std::string got = sha256_hex(header.substr(kBearer.size()));
  return got.size() == token_digest_.size() &&
         CRYPTO_memcmp(got.data(), token_digest_.data(), got.size()) == 0;
}

Result<Principal> Authenticator::authorize(Access access, const PeerIdentity& peer,
                                           std::string_view authorization_header) const {
  Principal p;
  const bool admin_cert = is_admin_cert(peer);
  const bool agent_cert = peer.has_cert && !admin_cert;
  if (access == Access::kPublic) {
    p.who = agent_cert ? "agent:" + peer.common_name : admin_cert ? "cert:" + peer.common_name : "anonymous";
    return p;
  }
  if (access == Access::kAdmin || access == Access::kAgentOrAdmin) {
    if (admin_cert) {
      p.admin = true;
      p.who = "cert:" + peer.common_name;
      return p;
    }
    if (!authorization_header.empty()) {
      if (!token_matches(authorization_header))
        return Status(Code::kUnauthenticated, "admin token not accepted");
      p.admin = true;
      p.who = "token";
      return p;
    }
    if (access == Access::kAdmin)
      return agent_cert ? Status(Code::kPermissionDenied, "this call needs the admin role")
                        : Status(Code::kUnauthenticated, "this call needs an admin certificate or token");
  }
  // Agent access.
  if (!peer.has_cert) return Status(Code::kUnauthenticated, "this call needs a client certificate");
  if (admin_cert) return Status(Code::kPermissionDenied, "an admin certificate is not an agent");
  if (!valid_agent_id(peer.common_name))
    return Status(Code::kPermissionDenied, "the certificate's CN is not a valid agent id");
  p.agent_id = peer.common_name;
  p.who = "agent:" + p.agent_id;
  return p;
}

}  // namespace edgefed::server::http
