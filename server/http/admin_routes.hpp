// The handlers of the admin calls. Each is audit-logged (who, what, result).
//   POST /v1/admin/model                  safetensors body -> new version
//   POST /v1/admin/model/init             {"spec":"mlp:784-128-10","seed":1}
//   POST /v1/admin/rollback               {"version":N}
//   POST /v1/admin/agents/{id}/quarantine {"reason":"..."} (body optional)
//   POST /v1/admin/agents/{id}/release
//   GET  /v1/admin/agents
// Success: 200 {"version":V} for model calls, {"agent":..,"state":..} for
// quarantine calls, {"agents":[...]} for the list.
//
// Thread safety: handle() may be called from any thread concurrently.
#pragma once

#include "server/http/api_types.hpp"
#include "server/http/auth.hpp"
#include "server/http/route_context.hpp"

namespace edgefed::server::http {

class AdminRoutes {
 public:
  // `context` must outlive the routes.
  explicit AdminRoutes(RouteContext& context) : ctx_(context) {}

  // Any /v1/admin/... route (req.route.id says which); the caller checked
  // that `who` has the admin role.
  void handle(ApiRequest& req, const Principal& who, Responder done);

 private:
  RouteContext& ctx_;
};

}  // namespace edgefed::server::http
