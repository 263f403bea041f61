// The route table of wire contract v1: maps a method and a request target to
// a route, its access class and body class. Pure (no I/O), so it is unit
// tested and fuzzed on its own. Unknown paths are kNotFound, known paths with
// another method kMethodNotAllowed (with the allowed method for "Allow").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "edgefed/status.hpp"

namespace edgefed::server::http {

enum class RouteId {
  kNone,  // no match (see RouteMatch::error)
  kModel, kTask, kUpdates, kTelemetry,
  kMetrics, kHealthz, kReadyz, kStatus, kIndex,
  kAdminModel, kAdminModelInit, kAdminRollback, kAdminQuarantine, kAdminRelease, kAdminAgents,
  kVersionModel, kVersionOnnx,  // GET /v1/versions/{N}/model, /v1/versions/{N}/model.onnx
  kVersions, kAdminPromote,     // GET /v1/versions, POST /v1/admin/promote
  kSecAggJoin, kSecAggMessage, kSecAggNext,  // /v1/secagg/join, /message, /next
};

// Who may call a route.
enum class Access {
  kPublic,        // anybody (/healthz, /readyz: the K3s probes)
  kAgent,         // a verified client certificate naming an agent
  kAgentOrAdmin,  // an agent or the admin role (GET /v1/model)
  kViewer,        // the viewer or admin role (/metrics on the HTTPS port)
  kStatus,        // the viewer or admin role (status page, /v1/status); others
                  // only as HttpOptions::status_anonymous allows
  kAdmin,         // admin certificate or bearer token
};

// Which body limit applies (HttpOptions).
enum class BodyClass { kSmall, kUpdate, kJson, kModel };

struct RouteMatch {
  RouteId id = RouteId::kNone;
  Access access = Access::kPublic;
  BodyClass body = BodyClass::kSmall;
  // Metric label: bounded set ("model", "updates", ..., "unknown").
  std::string_view label = "unknown";
  std::string agent_param;  // {id} of /v1/admin/agents/{id}/...
  int64_t version_param = -1;  // {N} of /v1/versions/{N}/...
  std::string allow;        // for 405: the method the path accepts
  Status error;             // kNotFound / kMethodNotAllowed / kInvalidArgument
};

// `target` is the raw request target ("/v1/model?wait=30"); only its path
// part is matched, byte for byte (no decoding: "/v1/%6dodel" is unknown).
RouteMatch match_route(std::string_view method, std::string_view target);

// The query string of a target parsed into name -> value, percent-decoded
// ('+' is a space). Malformed escapes are kept verbatim; later duplicates
// win.
std::map<std::string, std::string> parse_query(std::string_view target);

// The path part of a target (before '?').
std::string_view target_path(std::string_view target);

}  // namespace edgefed::server::http
