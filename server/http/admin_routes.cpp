#include "server/http/admin_routes.hpp"

#include <span>

#include <nlohmann/json.hpp>

#include "edgefed/log.hpp"
#include "edgefed/protocol.hpp"

namespace edgefed::server::http {
namespace {

nlohmann::json agent_json(const AgentStatus& a) {
  return {{"agent_id", a.agent_id},
          {"state", a.state},
          {"last_seen_unix_ms", a.last_seen_unix_ms},
          {"updates", a.updates},
          {"last_staleness", a.last_staleness},
          {"outlier_score", a.outlier_score}};
}

// The JSON object of a body ("" counts as {} when optional).
Result<nlohmann::json> body_object(std::string_view body, bool optional, size_t limit) {
  if (body.empty() && optional) return nlohmann::json::object();
  auto j = parse_json(body, limit);
  if (!j) return j.status();
  if (!j->is_object()) return Status(Code::kInvalidArgument, "body must be a JSON object");
  return j;
}

Result<int64_t> int_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < 0)
    return Status(Code::kInvalidArgument, std::string(name) + " must be an integer >= 0");
  return it->get<int64_t>();
}

}  // namespace

void AdminRoutes::handle(ApiRequest& req, const Principal& who, Responder done) {
  const RouteId id = req.route.id;
  if (id == RouteId::kAdminAgents) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : ctx_.engine().agents()) list.push_back(agent_json(a));
    return done(ApiResponse::json(200, nlohmann::json{{"agents", list}}.dump()));
  }
  ctx_.run_blocking(std::move(done), [this, id, who, body = req.body, agent = req.route.agent_param,
                                 label = std::string(req.route.label)] {
    Status st;
    nlohmann::json answer;
    nlohmann::json detail = nlohmann::json::object();
    if (id == RouteId::kAdminModel) {
      st = ctx_.engine().set_model(body->bytes());
      detail["bytes"] = body->size();
    } else if (id == RouteId::kAdminModelInit) {
      auto j = body_object(*body, false, ctx_.options().json_body_limit);
      if (!j) return ApiResponse::error(j.status());
      // "spec": a preset name, or the model spec itself as a JSON object.
      auto spec = j->find("spec");
      if (spec == j->end() || !(spec->is_string() || spec->is_object()))
        return ApiResponse::error(Status(Code::kInvalidArgument,
                                         "spec must be a preset name like mlp:784-128-10 or a model spec object"));
      const std::string spec_text = spec->is_string() ? spec->get<std::string>() : spec->dump();
      int64_t seed = 1;
      if (j->contains("seed")) {
        auto s = int_field(*j, "seed");
        if (!s) return ApiResponse::error(s.status());
        seed = *s;
      }
      detail["spec"] = *spec;
      detail["seed"] = seed;
      st = ctx_.engine().init_model(spec_text, static_cast<uint64_t>(seed));
    } else if (id == RouteId::kAdminPromote) {
      auto j = body_object(*body, false, ctx_.options().json_body_limit);
      if (!j) return ApiResponse::error(j.status());
      auto v = int_field(*j, "version");
      if (!v) return ApiResponse::error(v.status());
      detail["version"] = *v;
      detail["stable_before"] = ctx_.engine().serving()->stable;
      st = ctx_.engine().promote(*v);
      answer = {{"stable", *v}};
    } else if (id == RouteId::kAdminRollback) {
      auto j = body_object(*body, false, ctx_.options().json_body_limit);
      if (!j) return ApiResponse::error(j.status());
      auto v = int_field(*j, "version");
      if (!v) return ApiResponse::error(v.status());
      detail["to_version"] = *v;
      st = ctx_.engine().rollback(*v);
    } else {
      const bool quarantine = id == RouteId::kAdminQuarantine;
      auto j = body_object(*body, true, ctx_.options().json_body_limit);
      if (!j) return ApiResponse::error(j.status());
      std::string reason = quarantine ? "admin" : "";
      if (auto r = j->find("reason"); r != j->end() && r->is_string()) reason = r->get<std::string>();
      detail["agent"] = agent;
      detail["reason"] = reason;
      st = ctx_.engine().set_quarantine(agent, quarantine, reason);
      answer = {{"agent", agent}, {"state", quarantine ? "quarantined" : "released"}};
    }
    log::info("audit").kv("who", who.who).kv("action", label).kv_json("detail", detail.dump()).kv("result", st.to_string());
    if (!st.is_ok()) return ApiResponse::error(st);
    if (answer.is_null()) answer = {{"version", ctx_.engine().current_model().version}};
    return ApiResponse::json(200, answer.dump());
  });
}

}  // namespace edgefed::server::http
