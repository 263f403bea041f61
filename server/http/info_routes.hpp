// The handlers of the read-only calls: /metrics, /healthz, /readyz,
// /v1/status and the index page. All answer inline from memory.
//
// Thread safety: every method may be called from any thread concurrently.
#pragma once

#include <memory>

#include "server/http/api_types.hpp"
#include "server/http/route_context.hpp"

namespace prometheus {
class Registry;
}

namespace edgefed::server::http {

class InfoRoutes {
 public:
  // `context` must outlive the routes; /metrics serialises `registry` and
  // the options' extra collectables.
  InfoRoutes(RouteContext& context, std::shared_ptr<prometheus::Registry> registry)
      : ctx_(context), registry_(std::move(registry)) {}

  ApiResponse metrics_text() const;
  // full: with agent_list; else the anonymous summary (names no agent).
  ApiResponse status_json(bool full) const;
  ApiResponse index_page() const;
  // readiness: /readyz (503 while draining or when the engine is not
  // ready); else /healthz (always 200).
  ApiResponse health(bool readiness) const;

 private:
  RouteContext& ctx_;
  std::shared_ptr<prometheus::Registry> registry_;
};

}  // namespace edgefed::server::http
