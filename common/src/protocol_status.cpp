// GET /v1/status. The server writes it and may add members (they are
// ignored); dashboards, the status page and tests read it.
#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"
#include "json_fields.hpp"

namespace edgefed {

using detail::Fields;
using detail::Need;
using detail::Range;
using nlohmann::json;

namespace {

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

// Absent optionals are written as null: readers see every member.
json nullable(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json to_json(const AgentStatus& a) {
  json j = {{"agent_id", a.agent_id},         {"state", a.state},
            {"last_seen_unix_ms", a.last_seen_unix_ms}, {"updates", a.updates},
            {"last_staleness", a.last_staleness}, {"outlier_score", a.outlier_score}};
  if (!a.device_class.empty()) j["device_class"] = a.device_class;
  return j;
}

json to_json(const VersionPoint& v) {
  json j = {{"version", v.version},
            {"unix_ms", v.unix_ms},
            {"loss", nullable(v.loss)},
            {"accuracy", nullable(v.accuracy)},
            {"gradient_variance", v.gradient_variance},
            {"updates", v.updates}};
  if (v.mae) j["mae"] = *v.mae;
  return j;
}

Result<AgentStatus> parse_agent(const json& j, const std::string& where) {
  AgentStatus a;
  Fields f(j, where);
  f.string("agent_id", a.agent_id, 64, valid_agent_id, "an agent id ([A-Za-z0-9._-], 1-64 chars)")
      .one_of("state", a.state, {"active", "idle", "offline", "quarantined"})
      .integer("last_seen_unix_ms", a.last_seen_unix_ms, 0)
      .integer("updates", a.updates, 0)
      .number("last_staleness", a.last_staleness, Range::at_least(0))
      .number("outlier_score", a.outlier_score, Range::any())
      .string("device_class", a.device_class, 64, valid_telemetry_key, "a device class ([A-Za-z0-9_.-], 1-64 chars)",
              Need::kOptional);
  if (!f.ok()) return f.status();
  return a;
}

Result<VersionPoint> parse_point(const json& j, const std::string& where) {
  VersionPoint v;
  Fields f(j, where);
  f.integer("version", v.version, 0)
      .integer("unix_ms", v.unix_ms, 0)
      .nullable_number("loss", v.loss, Range::at_least(0))
      .nullable_number("accuracy", v.accuracy, Range::closed(0, 1))
      .nullable_number("mae", v.mae, Range::at_least(0))
      .number("gradient_variance", v.gradient_variance, Range::at_least(0))
      .integer("updates", v.updates, 0);
  if (!f.ok()) return f.status();
  return v;
}

// Parses each element of an array member with `parse`.
template <typename T, typename Parse>
Status parse_list(const json* arr, const std::string& where, std::vector<T>& out, Parse parse) {
  if (arr == nullptr) return Status::ok();
  out.reserve(arr->size());
  for (size_t i = 0; i < arr->size(); ++i) {
    auto r = parse((*arr)[i], where + "[" + std::to_string(i) + "]");
    if (!r) return r.status();
    out.push_back(std::move(r).value());
  }
  return Status::ok();
}

}  // namespace

json to_json(const ServerStatus& s) {
  json j = {{"view", s.view},
            {"model_version", s.model_version},
            {"mode", s.mode},
            {"layout", s.layout},
            {"updates_accepted", s.updates_accepted},
            {"updates_merged", s.updates_merged},
            {"telemetry_records", s.telemetry_records},
            {"agents", s.agents},
            {"global_loss", nullable(s.global_loss)},
            {"global_accuracy", nullable(s.global_accuracy)},
            {"gradient_variance", s.gradient_variance},
            {"history", json::array()}};
  if (!s.loss_source.empty()) j["loss_source"] = s.loss_source;
  if (!s.task.empty()) j["task"] = s.task;
  if (s.global_mae) j["global_mae"] = *s.global_mae;
  if (s.global_rmse) j["global_rmse"] = *s.global_rmse;
  if (s.global_anomaly_share) j["global_anomaly_share"] = *s.global_anomaly_share;
  // The summary has no agent_list member at all (the schema forbids it there).
  if (s.view != "summary") {
    j["agent_list"] = json::array();
    for (const auto& a : s.agent_list) j["agent_list"].push_back(to_json(a));
  }
  if (s.agent_states) {
    const AgentStateCounts& c = *s.agent_states;
    j["agent_states"] = {{"active", c.active}, {"idle", c.idle}, {"offline", c.offline},
                         {"quarantined", c.quarantined}};
  }
  for (const auto& v : s.history) j["history"].push_back(to_json(v));
  if (s.serving) {
    const ServingSummary& v = *s.serving;
    j["serving"] = {{"enabled", v.enabled},
                    {"stable", v.stable},
                    {"canary", v.canary},
                    {"cohort_size", v.cohort_size},
                    {"agents_on_stable", v.agents_on_stable},
                    {"agents_on_canary", v.agents_on_canary},
                    {"agents_on_other", v.agents_on_other},
                    {"metric", v.metric},
                    {"stable_validation", v.stable_validation ? json(*v.stable_validation) : json()}};
  }
  if (s.replica) {
    const ReplicaSummary& r = *s.replica;
    j["replica"] = {{"name", r.name},
                    {"leader", r.leader},
                    {"leader_name", r.leader_name},
                    {"live_replicas", r.live_replicas},
                    {"database_version", r.database_version},
                    {"clock_skew_s", r.clock_skew_s}};
  }
  return j;
}

ServerStatus anonymous_summary(ServerStatus s) {
  AgentStateCounts c;
  for (const auto& a : s.agent_list) {
    if (a.state == "active") ++c.active;
    else if (a.state == "idle") ++c.idle;
    else if (a.state == "offline") ++c.offline;
    else if (a.state == "quarantined") ++c.quarantined;
  }
  s.view = "summary";
  s.agent_states = c;
  s.agent_list.clear();
  return s;
}

Result<ServerStatus> parse_server_status(const json& j) {
  ServerStatus s;
  Fields f(j, "status");
  f.one_of("view", s.view, {"full", "summary"}, Need::kOptional)
      .integer("model_version", s.model_version, 0)
      .one_of("mode", s.mode)
      .string("layout", s.layout, 256)
      .integer("updates_accepted", s.updates_accepted, 0)
      .integer("updates_merged", s.updates_merged, 0)
      .integer("telemetry_records", s.telemetry_records, 0)
      .integer("agents", s.agents, 0, kI64Max)
      .nullable_number("global_loss", s.global_loss, Range::at_least(0))
      .nullable_number("global_accuracy", s.global_accuracy, Range::closed(0, 1))
      .one_of("loss_source", s.loss_source, {"eval", "reported"}, Need::kOptional)
      .one_of("task", s.task, {"classification", "regression", "autoencoder"}, Need::kOptional)
      .nullable_number("global_mae", s.global_mae, Range::at_least(0))
      .nullable_number("global_rmse", s.global_rmse, Range::at_least(0))
      .nullable_number("global_anomaly_share", s.global_anomaly_share, Range::closed(0, 1))
      .number("gradient_variance", s.gradient_variance, Range::at_least(0));
  const json* agents = f.member("agent_list", json::value_t::array, Need::kOptional);
  const json* history = f.member("history", json::value_t::array, Need::kOptional);
  const json* states = f.member("agent_states", json::value_t::object, Need::kOptional);
  const json* serving = f.member("serving", json::value_t::object, Need::kOptional);
  const json* replica = f.member("replica", json::value_t::object, Need::kOptional);
  if (!f.ok()) return f.status();
  if (replica != nullptr) {
    ReplicaSummary r;
    Fields g(*replica, "status.replica");
    g.string("name", r.name, 256)
        .boolean("leader", r.leader)
        .string("leader_name", r.leader_name, 256)
        .integer("live_replicas", r.live_replicas, 0)
        .integer("database_version", r.database_version, -1, kI64Max)
        .number("clock_skew_s", r.clock_skew_s, Range::any());
    if (!g.ok()) return g.status();
    s.replica = r;
  }
  if (serving != nullptr) {
    ServingSummary v;
    Fields g(*serving, "status.serving");
    g.integer("stable", v.stable, -1, kI64Max)
        .integer("canary", v.canary, -1, kI64Max)
        .integer("cohort_size", v.cohort_size, 0)
        .integer("agents_on_stable", v.agents_on_stable, 0)
        .integer("agents_on_canary", v.agents_on_canary, 0)
        .integer("agents_on_other", v.agents_on_other, 0)
        .nullable_number("stable_validation", v.stable_validation, Range::any())
        .boolean("enabled", v.enabled, Need::kOptional);
    if (!g.ok()) return g.status();
    if (auto m = serving->find("metric"); m != serving->end() && m->is_string()) v.metric = m->get<std::string>();
    s.serving = v;
  }
  if (s.view == "summary" && agents != nullptr)
    return Status(Code::kInvalidArgument, "status.agent_list: a summary names no agent");
  if (s.view == "summary" && states == nullptr)
    return Status(Code::kInvalidArgument, "status.agent_states: required in a summary");
  if (states != nullptr) {
    AgentStateCounts c;
    Fields g(*states, "status.agent_states");
    g.integer("active", c.active, 0).integer("idle", c.idle, 0).integer("offline", c.offline, 0)
        .integer("quarantined", c.quarantined, 0);
    if (!g.ok()) return g.status();
    s.agent_states = c;
  }
  EDGEFED_RETURN_IF_ERROR(parse_list(agents, "status.agent_list", s.agent_list, parse_agent));
  EDGEFED_RETURN_IF_ERROR(parse_list(history, "status.history", s.history, parse_point));
  return s;
}

}  // namespace edgefed
