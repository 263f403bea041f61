// Who may call what (issue 14, "secure by default"): every route of the
// HTTPS listener called with no certificate, an agent certificate, a viewer
// certificate (OU=viewer), an admin certificate (OU=admin) and the admin
// bearer token, against the real binary over TLS on loopback; then the
// --status-anonymous options (summary: no agent named; full) on the HTTPS
// port and on the plain metrics listener.
#include <catch2/catch.hpp>

#include <array>
#include <nlohmann/json.hpp>

#include "../integration/server/test_updates.hpp"
#include "../support/scratch_dir.hpp"
#include "security_pki.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {


enum Caller { kNobody, kAgent, kViewer, kAdmin, kToken, kCallers };
constexpr std::array<const char*, kCallers> kCallerNames{"no certificate", "agent certificate",
                                                         "viewer certificate", "admin certificate",
                                                         "admin token, no certificate"};

HttpsClientOptions options_for(const ServerProcess& s, Caller c) {
  switch (c) {
    case kAgent: return s.agent_options(0);
    case kViewer: return s.viewer_options();
    case kAdmin: return s.admin_options();
    default: return s.anonymous_options();
  }
}

std::unique_ptr<HttpsClient> client(const ServerProcess& s, Caller c) {
  auto r = HttpsClient::create(options_for(s, c));
  if (!r) throw std::runtime_error(r.status().to_string());
  return std::move(r).value();
}

HttpHeaders headers_for(const ServerProcess& s, Caller c) {
  if (c == kToken) return {{"Authorization", "Bearer " + s.admin_token()}};
  return {};
}

// 401 and 403 carry the JSON error body every refusal has.
void check_refusal_body(const HttpResponse& r) {
  if (r.status != 401 && r.status != 403) return;
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  INFO(r.body);
  REQUIRE(j.is_object());
  CHECK(j["error"]["code"] == (r.status == 401 ? "unauthenticated" : "permission_denied"));
  CHECK(j["error"]["message"].is_string());
}

std::string telemetry_body(int64_t seq) {
  nlohmann::json j;
  j["agent_id"] = Pki::agent_id(0);
  j["records"] = {{{"seq", seq}, {"ts_ms", 1000 + seq}, {"kind", "train"}, {"values", {{"loss", 0.5}}}}};
  return j.dump();
}

// An update from agent-000 and one telemetry batch, so that the status has an
// agent to name (or not).
void make_agent_known(const ServerProcess& s) {
  auto agent = client(s, kAgent);
  auto m = agent->get("/v1/model");
  REQUIRE(m);
  REQUIRE(m->status == 200);
  const auto layout = decode_model_or_throw(m->body).model.layout;
  auto u = agent->post("/v1/updates", make_update(layout, Pki::agent_id(0), "known-1", 0, 5, 0.01f));
  REQUIRE(u);
  REQUIRE(u->status == 202);
}

}  // namespace

TEST_CASE("access: every route with no certificate, an agent, a viewer, an admin and the token", "[security]") {
  ScratchDir dir("edgefed-acc");
  ServerProcess server(security_pki(), dir.file("state"), {"--model-init", "mlp:16-8-4"});
  server.start();

  std::string update_body;
  {
    auto admin = client(server, kAdmin);
    auto m = admin->get("/v1/model");
    REQUIRE(m);
    REQUIRE(m->status == 200);
    update_body = make_update(decode_model_or_throw(m->body).model.layout, Pki::agent_id(0), "acc-1", 0, 5, 0.01f);
  }

  struct Row {
    const char* method;
    const char* target;
    std::string body;
    std::array<int, kCallers> expect;  // no cert, agent, viewer, admin, token
  };
  // The admin calls get a body that is refused after admission (400), so the
  // table changes no state; their success paths are in tests/integration.
  const std::vector<Row> rows = {
      {"GET", "/healthz", "", {200, 200, 200, 200, 200}},
      {"GET", "/readyz", "", {200, 200, 200, 200, 200}},
      {"GET", "/", "", {401, 403, 200, 200, 200}},
      {"GET", "/v1/status", "", {401, 403, 200, 200, 200}},
      {"GET", "/metrics", "", {401, 403, 200, 200, 200}},
      {"GET", "/v1/model", "", {401, 200, 403, 200, 200}},
      {"GET", "/v1/task", "", {401, 200, 403, 403, 401}},
      {"POST", "/v1/updates", update_body, {401, 202, 403, 403, 401}},
      {"POST", "/v1/telemetry", telemetry_body(1), {401, 200, 403, 403, 401}},
      {"GET", "/v1/admin/agents", "", {401, 403, 403, 200, 200}},
      {"POST", "/v1/admin/model", "x", {401, 403, 403, 400, 400}},
      {"POST", "/v1/admin/model/init", R"({"spec":5})", {401, 403, 403, 400, 400}},
      {"POST", "/v1/admin/rollback", "{}", {401, 403, 403, 400, 400}},
      {"POST", "/v1/admin/agents/agent-005/quarantine", "[]", {401, 403, 403, 400, 400}},
      {"POST", "/v1/admin/agents/agent-005/release", "[]", {401, 403, 403, 400, 400}},
  };

  for (int c = 0; c < kCallers; ++c) {
    const Caller caller = static_cast<Caller>(c);
    auto http = client(server, caller);
    for (const Row& row : rows) {
      INFO(kCallerNames[c] << ": " << row.method << " " << row.target);
      const std::string type = row.target == std::string("/v1/updates") ? "application/octet-stream"
                               : row.body.empty()                       ? ""
                                                                        : "application/json";
      auto r = http->request(row.method, row.target, row.body, type, headers_for(server, caller));
      REQUIRE(r);
      INFO(r->body.substr(0, 300));
      CHECK(r->status == row.expect[c]);
      check_refusal_body(*r);
      if (r->status == 200 && row.target == std::string("/v1/status")) {
        const auto j = nlohmann::json::parse(r->body);
        CHECK(j["view"] == "full");
        CHECK(j.contains("agent_list"));
      }
    }
  }

  SECTION("a wrong token is refused on the status routes too; a viewer is no agent and no admin") {
    auto anon = client(server, kNobody);
    auto r = anon->get("/v1/status", {{"Authorization", "Bearer not-the-token-but-long-enough"}});
    REQUIRE(r);
    CHECK(r->status == 401);
    auto v = client(server, kViewer);
    auto q = v->post("/v1/admin/agents/agent-001/quarantine", "{}", "application/json");
    REQUIRE(q);
    CHECK(q->status == 403);
    auto list = client(server, kAdmin)->get("/v1/admin/agents");
    REQUIRE(list);
    // The viewer's CN never became an agent.
    CHECK(list->body.find("\"viewer\"") == std::string::npos);
  }
  CHECK(server.terminate() == 0);
}

TEST_CASE("access: --status-anonymous summary names no agent but viewer and admin still see everything",
          "[security]") {
  ScratchDir dir("edgefed-acc");
  ServerProcess server(security_pki(), dir.file("state"),
                       {"--model-init", "mlp:16-8-4", "--status-anonymous", "summary", "--metrics-listen",
                        "127.0.0.1:0", "--status-on-metrics-port=true"});
  server.start();
  make_agent_known(server);
  const std::string agent = Pki::agent_id(0);

  for (Caller c : {kNobody, kAgent}) {
    INFO(kCallerNames[c]);
    auto http = client(server, c);
    auto s = http->get("/v1/status");
    REQUIRE(s);
    REQUIRE(s->status == 200);
    INFO(s->body);
    const auto j = nlohmann::json::parse(s->body);
    CHECK(j["view"] == "summary");
    CHECK_FALSE(j.contains("agent_list"));
    CHECK(j["agents"] == 1);
    CHECK(j["agent_states"]["active"].get<int64_t>() + j["agent_states"]["idle"].get<int64_t>() == 1);
    CHECK(j["updates_accepted"] == 1);
    CHECK(s->body.find(agent) == std::string::npos);
    CHECK(s->body.find("agent-") == std::string::npos);
    auto page = http->get("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    // The option opens the status routes only.
    auto metrics = http->get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == (c == kNobody ? 401 : 403));
    auto admin_list = http->get("/v1/admin/agents");
    REQUIRE(admin_list);
    CHECK(admin_list->status == (c == kNobody ? 401 : 403));
  }
  for (Caller c : {kViewer, kAdmin, kToken}) {
    INFO(kCallerNames[c]);
    auto s = client(server, c)->get("/v1/status", headers_for(server, c));
    REQUIRE(s);
    REQUIRE(s->status == 200);
    const auto j = nlohmann::json::parse(s->body);
    CHECK(j["view"] == "full");
    REQUIRE(j["agent_list"].size() == 1);
    CHECK(j["agent_list"][0]["agent_id"] == agent);
  }
  // The plain metrics listener's callers are anonymous: the same summary.
  const uint16_t port = server.metrics_port();
  REQUIRE(port != 0);
  const std::string plain = plain_get(port, "/v1/status");
  INFO(plain);
  CHECK(plain.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(plain.find("\"view\":\"summary\"") != std::string::npos);
  CHECK(plain.find("agent-") == std::string::npos);
  CHECK(plain_get(port, "/").rfind("HTTP/1.1 200", 0) == 0);
  CHECK(server.terminate() == 0);
}

TEST_CASE("access: --status-anonymous full and the plain listener's explicit choice", "[security]") {
  ScratchDir dir("edgefed-acc");
  SECTION("full: anyone sees the agents (a closed network's explicit choice)") {
    ServerProcess server(security_pki(), dir.file("state"),
                         {"--model-init", "mlp:16-8-4", "--status-anonymous", "full"});
    server.start();
    make_agent_known(server);
    auto s = client(server, kNobody)->get("/v1/status");
    REQUIRE(s);
    REQUIRE(s->status == 200);
    CHECK(nlohmann::json::parse(s->body)["agent_list"][0]["agent_id"] == Pki::agent_id(0));
    auto metrics = client(server, kNobody)->get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 401);
    CHECK(server.terminate() == 0);
  }
  SECTION("--status-on-metrics-port without --status-anonymous is refused at start") {
    ServerProcess server(security_pki(), dir.file("state"),
                         {"--model-init", "mlp:16-8-4", "--metrics-listen", "127.0.0.1:0",
                          "--status-on-metrics-port=true"});
    const std::string error = server.start_error();
    INFO(error);
    CHECK(error.find("--status-anonymous") != std::string::npos);
  }
  SECTION("a bad --status-anonymous value is refused at start") {
    ServerProcess server(security_pki(), dir.file("state"),
                         {"--model-init", "mlp:16-8-4", "--status-anonymous", "public"});
    const std::string error = server.start_error();
    INFO(error);
    CHECK(error.find("--status-anonymous must be none, summary or full") != std::string::npos);
  }
}
