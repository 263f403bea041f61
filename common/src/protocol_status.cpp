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
  return {{"agent_id", a.agent_id},         {"state", a.state},
          {"last_seen_unix_ms", a.last_seen_unix_ms}, {"updates", a.updates},
          {"last_staleness", a.last_staleness}, {"outlier_score", a.outlier_score}};
}

json to_json(const VersionPoint& v) {
  return {{"version", v.version},
          {"unix_ms", v.unix_ms},
          {"loss", nullable(v.loss)},
          {"accuracy", nullable(v.accuracy)},
          {"gradient_variance", v.gradient_variance},
          {"updates", v.updates}};
}

Result<AgentStatus> parse_agent(const json& j, const std::string& where) {
  AgentStatus a;
  Fields f(j, where);
  f.string("agent_id", a.agent_id, 64, valid_agent_id, "an agent id ([A-Za-z0-9._-], 1-64 chars)")
      .one_of("state", a.state, {"active", "idle", "offline", "quarantined"})
      .integer("last_seen_unix_ms", a.last_seen_unix_ms, 0)
      .integer("updates", a.updates, 0)
      .number("last_staleness", a.last_staleness, Range::at_least(0))
      .number("outlier_score", a.outlier_score, Range::any());
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
  json j = {{"model_version", s.model_version},
            {"mode", s.mode},
            {"layout", s.layout},
            {"updates_accepted", s.updates_accepted},
            {"updates_merged", s.updates_merged},
            {"telemetry_records", s.telemetry_records},
            {"agents", s.agents},
            {"global_loss", nullable(s.global_loss)},
            {"global_accuracy", nullable(s.global_accuracy)},
            {"gradient_variance", s.gradient_variance},
            {"agent_list", json::array()},
            {"history", json::array()}};
  if (!s.loss_source.empty()) j["loss_source"] = s.loss_source;
  for (const auto& a : s.agent_list) j["agent_list"].push_back(to_json(a));
  for (const auto& v : s.history) j["history"].push_back(to_json(v));
  return j;
}

Result<ServerStatus> parse_server_status(const json& j) {
  ServerStatus s;
  Fields f(j, "status");
  f.integer("model_version", s.model_version, 0)
      .one_of("mode", s.mode, {"sync", "async"})
      .string("layout", s.layout, 256)
      .integer("updates_accepted", s.updates_accepted, 0)
      .integer("updates_merged", s.updates_merged, 0)
      .integer("telemetry_records", s.telemetry_records, 0)
      .integer("agents", s.agents, 0, kI64Max)
      .nullable_number("global_loss", s.global_loss, Range::at_least(0))
      .nullable_number("global_accuracy", s.global_accuracy, Range::closed(0, 1))
      .one_of("loss_source", s.loss_source, {"eval", "reported"}, Need::kOptional)
      .number("gradient_variance", s.gradient_variance, Range::at_least(0));
  const json* agents = f.member("agent_list", json::value_t::array, Need::kOptional);
  const json* history = f.member("history", json::value_t::array, Need::kOptional);
  if (!f.ok()) return f.status();
  EDGEFED_RETURN_IF_ERROR(parse_list(agents, "status.agent_list", s.agent_list, parse_agent));
  EDGEFED_RETURN_IF_ERROR(parse_list(history, "status.history", s.history, parse_point));
  return s;
}

}  // namespace edgefed
