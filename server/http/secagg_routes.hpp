// The handlers of secure aggregation (--secure-aggregation=secagg+,
// docs/secure-aggregation.md), for agents only:
//   POST /v1/secagg/join     {"base_version": V} -> the session to take part in
//   POST /v1/secagg/message  one protocol message (edgefed/secagg/messages.hpp) -> 202 {"accepted": true}
//   GET  /v1/secagg/next?session=ID  what to do next: a server message or
//                            {"type": "wait" | "done" | "aborted" | "excluded", ...}
// A server without secure aggregation answers 404 with a JSON error. The
// agent is the client certificate's: a message speaking for another
// agent's protocol id is refused (403).
//
// Thread safety: every method may be called from any thread concurrently.
#pragma once

#include "server/http/api_types.hpp"
#include "server/http/auth.hpp"
#include "server/http/route_context.hpp"

namespace edgefed::server {
class SecAggService;
}  // namespace edgefed::server

namespace edgefed::server::http {

class SecAggRoutes {
 public:
  // `service` is null when secure aggregation is off; both must outlive the routes.
  SecAggRoutes(RouteContext& context, SecAggService* service) : ctx_(context), service_(service) {}

  void join(ApiRequest& req, const Principal& who, Responder done);
  void message(ApiRequest& req, const Principal& who, Responder done);
  void next(ApiRequest& req, const Principal& who, Responder done);

 private:
  RouteContext& ctx_;
  SecAggService* service_;
};

}  // namespace edgefed::server::http
