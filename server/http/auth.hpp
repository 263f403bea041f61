// Who may call what. Agents are identified by the CN of a client certificate
// that verified against the configured CA; admins by a certificate whose
// subject OU is "admin" (deploy/certs/edgefed-certs issues OU=admin), or by "Authorization: Bearer <token>" matching the token
// file (constant-time comparison). Thread-safe (immutable after construction).
#pragma once

#include <string>
#include <string_view>

#include "edgefed/status.hpp"
#include "server/http/api_types.hpp"
#include "server/http/router.hpp"

namespace edgefed::server::http {

struct Principal {
  std::string agent_id;  // set for agents
  bool admin = false;
  std::string who;       // for audit logs: "agent:<id>", "cert:<cn>", "token", "anonymous"
};

class Authenticator {
 public:
  // token "" disables bearer-token admin access.
  explicit Authenticator(std::string admin_token);

  // kUnauthenticated (401): no usable credential; kPermissionDenied (403):
  // a credential that does not grant this access.
  Result<Principal> authorize(Access access, const PeerIdentity& peer,
                              std::string_view authorization_header) const;

  static bool is_admin_cert(const PeerIdentity& peer);

 private:
  bool token_matches(std::string_view authorization_header) const;
  std::string token_digest_;  // sha256 hex of the token, "" = none
};

}  // namespace edgefed::server::http
