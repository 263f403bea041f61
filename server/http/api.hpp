// The one entry point of wire contract v1 for the sessions. The session
// hands over a complete request (ApiRequest) and a Responder; Api authorises
// it, applies the per-agent rate limit and the body and in-flight limits, and
// dispatches it to the route handlers: AgentRoutes (agent_routes.hpp),
// AdminRoutes (admin_routes.hpp) and InfoRoutes (info_routes.hpp), which
// answer inline (cheap in-memory calls), on the worker pool (anything that
// waits for SQLite: RouteContext::run_blocking), or later (long polls, and
// updates: the engine answers them from its own threads once they are
// durable, Engine::submit_update_async). Every answer, errors included, is counted in
// edgefed_http_requests_total{route,code} and the duration histogram.
//
// Thread safety: handle() may be called from any thread concurrently. The
// Responder is called exactly once, from an I/O, worker or engine thread,
// never while a lock is held; after the Api is destroyed it does nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string_view>

#include "server/engine/engine.hpp"
#include "server/http/admin_routes.hpp"
#include "server/http/version_routes.hpp"
#include "server/http/agent_routes.hpp"
#include "server/http/api_types.hpp"
#include "server/http/auth.hpp"
#include "server/http/http_metrics.hpp"
#include "server/http/http_options.hpp"
#include "server/http/info_routes.hpp"
#include "server/http/rate_limiter.hpp"
#include "server/http/route_context.hpp"
#include "server/http/secagg_routes.hpp"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace edgefed::server::http {

class Api {
 public:
  // All references must outlive the Api.
  // `secagg` is null when secure aggregation is off.
  Api(const HttpOptions& options, Engine& engine, std::shared_ptr<prometheus::Registry> registry,
      HttpMetrics& metrics, boost::asio::io_context& ioc, boost::asio::thread_pool& workers,
      SecAggService* secagg = nullptr);
  ~Api();

  // Called once the request line and headers are in, before the body is
  // read: route errors (404/405/400), shutdown (503), authentication (401/403)
  // and the rate limit (429 + Retry-After). Returns the refusal to send, or
  // nullopt and the caller's principal.
  std::optional<ApiResponse> admit(const ApiRequest& request, Principal& who);
  // Handles an admitted request whose body has been read.
  void handle(ApiRequest request, Principal who, Responder respond);
  // Sends a refusal (from admit() or the session's own limits) and counts it.
  void refuse(std::string_view route_label, ApiResponse response, const Responder& respond);

  // The largest body accepted for a route's body class.
  uint64_t body_limit(BodyClass body) const;
  // Claims `bytes` of the update bytes in flight (HttpOptions); false when
  // that would pass the bound while other updates are in flight. Every
  // successful claim is returned with release_update_bytes.
  bool claim_update_bytes(uint64_t bytes);
  void release_update_bytes(uint64_t bytes);

  // Shutdown: /readyz turns 503, pending long polls are answered (503), new
  // requests are refused with 503 and "Connection: close".
  void begin_drain();
  bool draining() const { return context_.draining(); }
  // Requests handed to handle() and not yet answered.
  int64_t in_flight() const { return in_flight_.load(); }

  HttpMetrics& metrics() { return metrics_; }
  const HttpOptions& options() const { return options_; }

 private:
  // Size of the current model's serialized bytes (the update limits derive from it).
  uint64_t model_bytes() const;
  void dispatch(ApiRequest& req, const Principal& who, Responder& done);

  const HttpOptions& options_;
  Engine& engine_;
  HttpMetrics& metrics_;
  Authenticator auth_;
  RateLimiter limiter_;
  RouteContext context_;
  AgentRoutes agent_routes_;
  AdminRoutes admin_routes_;
  VersionRoutes version_routes_;
  SecAggRoutes secagg_routes_;
  InfoRoutes info_routes_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> update_bytes_in_flight_{0};
  // Closed by the destructor: an answer the engine gives later (an update
  // still queued when the server is torn down before the engine) is dropped
  // instead of reaching a destroyed Api or io_context.
  struct AnswerGate {
    std::shared_mutex mu;
    bool open = true;
  };
  std::shared_ptr<AnswerGate> gate_ = std::make_shared<AnswerGate>();
};

}  // namespace edgefed::server::http
