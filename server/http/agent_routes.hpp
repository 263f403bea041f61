// The handlers of the agent calls: GET /v1/model (ETag, long poll),
// GET /v1/task, POST /v1/updates, POST /v1/telemetry; and the registry of
// pending long polls, answered 503 when the server drains.
//
// Thread safety: every method may be called from any thread concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

#include "server/engine/engine.hpp"
#include "server/http/api_types.hpp"
#include "server/http/auth.hpp"
#include "server/http/route_context.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace edgefed::server::http {

class LongPoll;

class AgentRoutes {
 public:
  // All references must outlive the routes; long polls run their timers on `ioc`.
  AgentRoutes(RouteContext& context, boost::asio::io_context& ioc) : ctx_(context), ioc_(ioc) {}

  void get_model(ApiRequest& req, Responder done);
  void get_task(const Principal& who, Responder done);
  void post_update(ApiRequest& req, const Principal& who, Responder done);
  void post_telemetry(ApiRequest& req, const Principal& who, Responder done);

  // Answers every pending long poll (503); a poll started after the drain
  // began cancels itself.
  void cancel_polls();

 private:
  void forget_poll(LongPoll* poll);

  RouteContext& ctx_;
  boost::asio::io_context& ioc_;
  std::mutex polls_mu_;
  std::unordered_map<LongPoll*, std::weak_ptr<LongPoll>> polls_;
};

// Model responses (200 with the bytes, or 304) with ETag and X-Model-Version.
ApiResponse model_response(const Engine::ModelSnapshot& snap, bool not_modified);

}  // namespace edgefed::server::http
