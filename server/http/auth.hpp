// Who may call what. Roles come from a client certificate that verified
// against the configured CA: its subject OU "admin" (deploy/certs/edgefed-certs
// issues OU=admin) is the admin role, OU "viewer" the read-only viewer role
// (status page and /v1/status), anything else an agent named by its CN. The
// admin role is also granted by "Authorization: Bearer <token>" matching the
// token file (constant-time comparison). Thread-safe (immutable after
// construction).
#pragma once

#include <string>
#include <string_view>

#include "edgefed/status.hpp"
#include "server/http/api_types.hpp"
#include "server/http/http_options.hpp"
#include "server/http/router.hpp"

namespace edgefed::server::http {

struct Principal {
  std::string agent_id;  // set for agents
  bool admin = false;
  // May see the full status (agent ids): the viewer or admin role, or anyone
  // under StatusAnonymous::kFull. Without it Access::kStatus routes answer
  // the anonymous summary.
  bool full_status = false;
  std::string who;       // for audit logs: "agent:<id>", "cert:<cn>", "viewer:<cn>", "token", "anonymous"
};

class Authenticator {
 public:
  // token "" disables bearer-token admin access.
  explicit Authenticator(std::string admin_token, StatusAnonymous status_anonymous = StatusAnonymous::kNone);

  // kUnauthenticated (401): no usable credential; kPermissionDenied (403):
  // a credential that does not grant this access.
  Result<Principal> authorize(Access access, const PeerIdentity& peer,
                              std::string_view authorization_header) const;

  static bool is_admin_cert(const PeerIdentity& peer);
  static bool is_viewer_cert(const PeerIdentity& peer);

 private:
  bool token_matches(std::string_view authorization_header) const;
  std::string token_digest_;  // sha256 hex of the token, "" = none
  StatusAnonymous status_anonymous_;
};

}  // namespace edgefed::server::http
