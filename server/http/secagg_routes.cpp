#include "server/http/secagg_routes.hpp"

#include "edgefed/log.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/secagg/messages.hpp"
#include "server/http/router.hpp"
#include "server/secagg/secagg_service.hpp"

namespace edgefed::server::http {

namespace {

ApiResponse off() {
  return ApiResponse::error(Status(Code::kNotFound, "secure aggregation is off on this server"));
}

}  // namespace

void SecAggRoutes::join(ApiRequest& req, const Principal& who, Responder done) {
  if (service_ == nullptr) return done(off());
  ctx_.run_blocking(std::move(done), [this, agent = who.agent_id, body = req.body] {
    auto j = parse_json(*body, ctx_.options().json_body_limit);
    if (!j) return ApiResponse::error(j.status());
    if (!j->is_object() || !j->contains("base_version") || !(*j)["base_version"].is_number_integer() ||
        (*j)["base_version"].get<int64_t>() < 0) {
      return ApiResponse::error(
          Status(Code::kInvalidArgument, "a join is {\"base_version\": V}, V the model version the agent trains on"));
    }
    auto session = service_->join(agent, (*j)["base_version"].get<int64_t>());
    if (!session) return ApiResponse::error(session.status());
    return ApiResponse::json(200, session->dump());
  });
}

void SecAggRoutes::message(ApiRequest& req, const Principal& who, Responder done) {
  if (service_ == nullptr) return done(off());
  ctx_.run_blocking(std::move(done), [this, agent = who.agent_id, body = req.body] {
    // The body's size was bounded by the route's limit (an update's:
    // masked inputs are ~5.4 bytes per coordinate).
    auto j = parse_json(*body, body->size() + 1);
    if (!j) return ApiResponse::error(j.status());
    Status st = service_->post(agent, *j);
    if (!st.is_ok()) {
      log::info("secagg_message_refused").kv("agent", agent).kv("reason", st.to_string());
      return ApiResponse::error(st);
    }
    return ApiResponse::json(202, "{\"accepted\":true}");
  });
}

void SecAggRoutes::next(ApiRequest& req, const Principal& who, Responder done) {
  if (service_ == nullptr) return done(off());
  const auto query = parse_query(req.target);
  auto it = query.find("session");
  if (it == query.end() || !secagg::valid_session_id(it->second)) {
    return done(ApiResponse::error(Status(Code::kInvalidArgument, "next needs ?session=ID (a session id from join)")));
  }
  ctx_.run_blocking(std::move(done), [this, agent = who.agent_id, session = it->second] {
    auto next = service_->next(agent, session);
    if (!next) return ApiResponse::error(next.status());
    return ApiResponse::json(200, next->dump());
  });
}

}  // namespace edgefed::server::http
