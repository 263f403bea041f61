// The transport-neutral request and response the route handlers see. The
// session (Beast) converts to and from these, so handlers, auth and limits
// are testable and fuzzable without sockets.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "edgefed/status.hpp"
#include "server/http/request_body.hpp"
#include "server/http/router.hpp"

namespace edgefed::server::http {

// What the TLS layer established about the peer.
struct PeerIdentity {
  bool has_cert = false;        // a client certificate that verified against the CA
  std::string common_name;      // its subject CN
  std::string org_unit;         // its subject OU ("admin" marks admin certs)
  std::string remote;           // "ip:port", for logs
};

struct ApiRequest {
  std::string method;
  std::string target;
  RouteMatch route;
  std::string if_none_match;
  std::string authorization;
  std::string content_type;
  std::shared_ptr<const RequestBody> body;  // never null
  PeerIdentity peer;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<const std::string> body;  // null = empty
  bool close = false;  // close the connection after sending

  static ApiResponse json(int status, std::string body);
  // The JSON error body of status, its HTTP status, and Retry-After on 503.
  static ApiResponse error(const Status& status);
};

// Completes a request; called exactly once, from any thread.
using Responder = std::function<void(ApiResponse)>;

}  // namespace edgefed::server::http
