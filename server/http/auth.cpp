#include "server/http/auth.hpp"

#include <openssl/crypto.h>

#include "edgefed/protocol.hpp"
#include "edgefed/sha256.hpp"

namespace edgefed::server::http {

Authenticator::Authenticator(std::string admin_token, StatusAnonymous status_anonymous)
    : token_digest_(admin_token.empty() ? std::string() : sha256_hex(admin_token)),
      status_anonymous_(status_anonymous) {}

bool Authenticator::is_admin_cert(const PeerIdentity& peer) {
  return peer.has_cert && peer.org_unit == "admin";
}

bool Authenticator::is_viewer_cert(const PeerIdentity& peer) {
  return peer.has_cert && peer.org_unit == "viewer";
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
  const bool viewer_cert = is_viewer_cert(peer);
  const bool agent_cert = peer.has_cert && !admin_cert && !viewer_cert;
  const std::string cert_who = admin_cert    ? "cert:" + peer.common_name
                               : viewer_cert ? "viewer:" + peer.common_name
                               : agent_cert  ? "agent:" + peer.common_name
                                             : "anonymous";
  if (access == Access::kPublic) {
    p.who = cert_who;
    return p;
  }
  const bool viewer_route = access == Access::kViewer || access == Access::kStatus;
  if (access == Access::kAdmin || access == Access::kAgentOrAdmin || viewer_route) {
    if (admin_cert) {
      p.admin = true;
      p.full_status = true;
      p.who = cert_who;
      return p;
    }
    if (viewer_route && viewer_cert) {
      p.full_status = true;
      p.who = cert_who;
      return p;
    }
    if (!authorization_header.empty()) {
      if (!token_matches(authorization_header))
        return Status(Code::kUnauthenticated, "admin token not accepted");
      p.admin = true;
      p.full_status = true;
      p.who = "token";
      return p;
    }
    if (access == Access::kAdmin) {
      return peer.has_cert ? Status(Code::kPermissionDenied, "this call needs the admin role")
                           : Status(Code::kUnauthenticated, "this call needs an admin certificate or token");
    }
    if (viewer_route) {
      // Without a role, the status routes answer what --status-anonymous allows.
      if (access == Access::kStatus) {
        switch (status_anonymous_) {
          case StatusAnonymous::kFull: p.full_status = true; [[fallthrough]];
          case StatusAnonymous::kSummary: p.who = cert_who; return p;
          case StatusAnonymous::kNone: break;
        }
      }
      return peer.has_cert
                 ? Status(Code::kPermissionDenied, "this call needs the viewer or admin role")
                 : Status(Code::kUnauthenticated, "this call needs a viewer or admin certificate (or the admin token)");
    }
  }
  // Agent access.
  if (!peer.has_cert) return Status(Code::kUnauthenticated, "this call needs a client certificate");
  if (admin_cert) return Status(Code::kPermissionDenied, "an admin certificate is not an agent");
  if (viewer_cert) return Status(Code::kPermissionDenied, "a viewer certificate is not an agent");
  if (!valid_agent_id(peer.common_name))
    return Status(Code::kPermissionDenied, "the certificate's CN is not a valid agent id");
  p.agent_id = peer.common_name;
  p.who = "agent:" + p.agent_id;
  return p;
}

}  // namespace edgefed::server::http
