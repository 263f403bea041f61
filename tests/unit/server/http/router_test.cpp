#include <catch2/catch.hpp>

#include "server/http/router.hpp"

using namespace edgefed;
using namespace edgefed::server::http;

TEST_CASE("routes of wire contract v1", "[unit][http]") {
  using Row = std::tuple<std::string, std::string, RouteId, Access>;
  auto [method, target, id, access] = GENERATE(table<std::string, std::string, RouteId, Access>({
      Row{"GET", "/v1/model", RouteId::kModel, Access::kAgentOrAdmin},
      Row{"GET", "/v1/model?wait=30&after=4", RouteId::kModel, Access::kAgentOrAdmin},
      Row{"GET", "/v1/task", RouteId::kTask, Access::kAgent},
      Row{"POST", "/v1/updates", RouteId::kUpdates, Access::kAgent},
      Row{"POST", "/v1/telemetry", RouteId::kTelemetry, Access::kAgent},
      Row{"GET", "/metrics", RouteId::kMetrics, Access::kViewer},
      Row{"GET", "/healthz", RouteId::kHealthz, Access::kPublic},
      Row{"GET", "/readyz", RouteId::kReadyz, Access::kPublic},
      Row{"GET", "/v1/status", RouteId::kStatus, Access::kStatus},
      Row{"GET", "/", RouteId::kIndex, Access::kStatus},
      Row{"POST", "/v1/admin/model", RouteId::kAdminModel, Access::kAdmin},
      Row{"POST", "/v1/admin/model/init", RouteId::kAdminModelInit, Access::kAdmin},
      Row{"POST", "/v1/admin/rollback", RouteId::kAdminRollback, Access::kAdmin},
      Row{"POST", "/v1/admin/agents/agent-007/quarantine", RouteId::kAdminQuarantine, Access::kAdmin},
      Row{"POST", "/v1/admin/agents/agent-007/release", RouteId::kAdminRelease, Access::kAdmin},
      Row{"GET", "/v1/admin/agents", RouteId::kAdminAgents, Access::kAdmin},
      Row{"GET", "/v1/versions/12/model", RouteId::kVersionModel, Access::kAgentOrAdmin},
      Row{"GET", "/v1/versions/0/model.onnx", RouteId::kVersionOnnx, Access::kAgentOrAdmin},
      Row{"GET", "/v1/versions", RouteId::kVersions, Access::kViewer},
      Row{"POST", "/v1/admin/promote", RouteId::kAdminPromote, Access::kAdmin},
  }));
  const RouteMatch m = match_route(method, target);
  CHECK(m.error.is_ok());
  CHECK(m.id == id);
  CHECK(m.access == access);
}

TEST_CASE("unknown paths are 404, wrong methods 405, bad agent ids 400", "[unit][http]") {
  for (const char* target : {"/v1/models", "/v1/model/", "/v1/%6dodel", "/v1/../v1/model", "//v1/model", "",
                             "/v1/admin/agents/x/delete", "/v1/admin/agents/x/quarantine/y", "/index.html"}) {
    INFO(target);
    const RouteMatch m = match_route("GET", target);
    CHECK(m.id == RouteId::kNone);
    CHECK(m.error.code() == Code::kNotFound);
  }
  const RouteMatch post_model = match_route("POST", "/v1/model");
  CHECK(post_model.error.code() == Code::kMethodNotAllowed);
  CHECK(post_model.allow == "GET");
  CHECK(post_model.label == "model");
  CHECK(match_route("GET", "/v1/admin/agents/a1/release").error.code() == Code::kMethodNotAllowed);
  for (const char* id : {"..", "%2e%2e", "-x", "a b"}) {
    INFO(id);
    const RouteMatch m = match_route("POST", std::string("/v1/admin/agents/") + id + "/quarantine");
    CHECK(m.id == RouteId::kNone);
    CHECK(m.error.code() == Code::kInvalidArgument);
  }
}

TEST_CASE("version file routes carry the version, refuse non-numbers and other methods", "[unit][http]") {
  const RouteMatch m = match_route("GET", "/v1/versions/4711/model.onnx?x=1");
  CHECK(m.id == RouteId::kVersionOnnx);
  CHECK(m.version_param == 4711);
  CHECK(m.label == "version_onnx");
  for (const char* n : {"-1", "x", "", "1e3", "0x10", "1234567890123456789"}) {
    INFO(n);
    const RouteMatch bad = match_route("GET", std::string("/v1/versions/") + n + "/model");
    CHECK(bad.id == RouteId::kNone);
    CHECK(bad.error.code() == Code::kInvalidArgument);
  }
  CHECK(match_route("PUT", "/v1/versions/1/model").error.code() == Code::kMethodNotAllowed);
  for (const char* target : {"/v1/versions/1", "/v1/versions/1/model.tflite", "/v1/versions/1/model/"})
    CHECK(match_route("GET", target).error.code() == Code::kNotFound);
}

TEST_CASE("query strings are split and percent-decoded", "[unit][http]") {
  const auto q = parse_query("/v1/model?wait=30&after=4&x=a%20b+c&flag&bad=%zz&&");
  CHECK(q.at("wait") == "30");
  CHECK(q.at("after") == "4");
  CHECK(q.at("x") == "a b c");
  CHECK(q.at("flag").empty());
  CHECK(q.at("bad") == "%zz");
  CHECK(parse_query("/v1/model").empty());
  CHECK(parse_query("/v1/model?%").count("%") == 1);
  CHECK(target_path("/v1/model?wait=1") == "/v1/model");
}
