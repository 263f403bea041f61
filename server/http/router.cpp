#include "server/http/router.hpp"

#include <array>

#include "edgefed/protocol.hpp"

namespace edgefed::server::http {
namespace {

struct Entry {
  std::string_view path;
  std::string_view method;
  RouteId id;
  Access access;
  BodyClass body;
  std::string_view label;
};

constexpr std::array<Entry, 19> kRoutes{{
    {"/v1/model", "GET", RouteId::kModel, Access::kAgentOrAdmin, BodyClass::kSmall, "model"},
    {"/v1/task", "GET", RouteId::kTask, Access::kAgent, BodyClass::kSmall, "task"},
    {"/v1/updates", "POST", RouteId::kUpdates, Access::kAgent, BodyClass::kUpdate, "updates"},
    {"/v1/telemetry", "POST", RouteId::kTelemetry, Access::kAgent, BodyClass::kJson, "telemetry"},
    {"/metrics", "GET", RouteId::kMetrics, Access::kViewer, BodyClass::kSmall, "metrics"},
    {"/healthz", "GET", RouteId::kHealthz, Access::kPublic, BodyClass::kSmall, "healthz"},
    {"/readyz", "GET", RouteId::kReadyz, Access::kPublic, BodyClass::kSmall, "readyz"},
    {"/v1/status", "GET", RouteId::kStatus, Access::kStatus, BodyClass::kSmall, "status"},
    {"/", "GET", RouteId::kIndex, Access::kStatus, BodyClass::kSmall, "index"},
    {"/v1/admin/model", "POST", RouteId::kAdminModel, Access::kAdmin, BodyClass::kModel, "admin_model"},
    {"/v1/admin/model/init", "POST", RouteId::kAdminModelInit, Access::kAdmin, BodyClass::kJson,
     "admin_model_init"},
    {"/v1/admin/rollback", "POST", RouteId::kAdminRollback, Access::kAdmin, BodyClass::kJson, "admin_rollback"},
    {"/v1/admin/agents", "GET", RouteId::kAdminAgents, Access::kAdmin, BodyClass::kSmall, "admin_agents"},
    {"/v1/admin/promote", "POST", RouteId::kAdminPromote, Access::kAdmin, BodyClass::kJson, "admin_promote"},
    {"/v1/versions", "GET", RouteId::kVersions, Access::kViewer, BodyClass::kSmall, "versions"},
    {"/v1/secagg/join", "POST", RouteId::kSecAggJoin, Access::kAgent, BodyClass::kJson, "secagg_join"},
    // A masked input is about as large as an update (5.4 bytes per coordinate).
    {"/v1/secagg/message", "POST", RouteId::kSecAggMessage, Access::kAgent, BodyClass::kUpdate, "secagg_message"},
    {"/v1/secagg/next", "GET", RouteId::kSecAggNext, Access::kAgent, BodyClass::kSmall, "secagg_next"},
    // Sentinel: /v1/admin/agents/{id}/{quarantine|release} is matched below.
    {"", "", RouteId::kNone, Access::kPublic, BodyClass::kSmall, "unknown"},
}};

RouteMatch from_entry(const Entry& e) {
  RouteMatch m;
  m.id = e.id;
  m.access = e.access;
  m.body = e.body;
  m.label = e.label;
  return m;
}

RouteMatch wrong_method(std::string_view path, std::string_view allow, std::string_view label) {
  RouteMatch m;
  m.label = label;
  m.allow = std::string(allow);
  m.error = Status(Code::kMethodNotAllowed, std::string(path) + " accepts " + std::string(allow) + " only");
  return m;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string_view target_path(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::map<std::string, std::string> parse_query(std::string_view target) {
  std::map<std::string, std::string> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      out[percent_decode(pair)] = "";
    } else {
      out[percent_decode(pair.substr(0, eq))] = percent_decode(pair.substr(eq + 1));
    }
  }
  return out;
}

RouteMatch match_route(std::string_view method, std::string_view target) {
  const std::string_view path = target_path(target);
  for (const Entry& e : kRoutes) {
    if (e.id == RouteId::kNone || e.path != path) continue;
    if (e.method != method) return wrong_method(path, e.method, e.label);
    return from_entry(e);
  }
  constexpr std::string_view kAgents = "/v1/admin/agents/";
  if (path.substr(0, kAgents.size()) == kAgents) {
    const std::string_view rest = path.substr(kAgents.size());
    const auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
      const std::string_view id = rest.substr(0, slash);
      const std::string_view action = rest.substr(slash + 1);
      const bool quarantine = action == "quarantine";
      if (quarantine || action == "release") {
        const std::string_view label = quarantine ? "admin_quarantine" : "admin_release";
        if (method != "POST") return wrong_method(path, "POST", label);
        RouteMatch m;
        m.id = quarantine ? RouteId::kAdminQuarantine : RouteId::kAdminRelease;
        m.access = Access::kAdmin;
        m.body = BodyClass::kJson;
        m.label = label;
        if (!valid_agent_id(id)) {
          m.id = RouteId::kNone;
          m.error = Status(Code::kInvalidArgument, "not a valid agent id");
          return m;
        }
        m.agent_param = std::string(id);
        return m;
      }
    }
  }
  constexpr std::string_view kVersions = "/v1/versions/";
  if (path.substr(0, kVersions.size()) == kVersions) {
    const std::string_view rest = path.substr(kVersions.size());
    const auto slash = rest.find('/');
    const std::string_view file = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (file == "model" || file == "model.onnx") {
      const bool onnx = file == "model.onnx";
      const std::string_view label = onnx ? "version_onnx" : "version_model";
      if (method != "GET") return wrong_method(path, "GET", label);
      RouteMatch m;
      m.id = onnx ? RouteId::kVersionOnnx : RouteId::kVersionModel;
      m.access = Access::kAgentOrAdmin;
      m.label = label;
      const std::string_view n = rest.substr(0, slash);
      int64_t v = 0;
      bool digits = !n.empty() && n.size() <= 18;
      for (char c : n) {
        if (c < '0' || c > '9') digits = false;
        if (digits) v = v * 10 + (c - '0');
      }
      if (!digits) {
        m.id = RouteId::kNone;
        m.error = Status(Code::kInvalidArgument, "the version in " + std::string(path) + " must be a number >= 0");
        return m;
      }
      m.version_param = v;
      return m;
    }
  }
  RouteMatch m;
  m.error = Status(Code::kNotFound, "no such route");
  return m;
}

}  // namespace edgefed::server::http
