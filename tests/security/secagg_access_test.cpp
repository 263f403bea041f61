// Secure aggregation's routes against the real binary over TLS (issue 18):
// who may call them, the task telling agents to use them, a plain update
// refused with a clear error, and bad protocol input (a join for an old
// version, malformed and unknown-session messages, a message speaking for
// another agent's protocol id) each refused with its JSON error while the
// session goes on. A server without secure aggregation answers 404.
#include <catch2/catch.hpp>

#include <array>
#include <nlohmann/json.hpp>

#include "../integration/server/test_updates.hpp"
#include "../support/scratch_dir.hpp"
#include "edgefed/secagg/client_round.hpp"
#include "edgefed/secagg/random_source.hpp"
#include "security_pki.hpp"

namespace secagg_access_test {

using namespace edgefed;
using namespace edgefed::testing;
using nlohmann::json;

std::unique_ptr<HttpsClient> client_for(const HttpsClientOptions& o) {
  auto r = HttpsClient::create(o);
  if (!r) throw std::runtime_error(r.status().to_string());
  return std::move(r).value();
}

// The JSON error body of a refusal, with its code.
void check_error(const HttpResponse& r, int status, const std::string& code, const std::string& words = "") {
  INFO(r.body);
  CHECK(r.status == status);
  const auto j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["error"]["code"] == code);
  if (!words.empty()) CHECK(j["error"]["message"].get<std::string>().find(words) != std::string::npos);
}

TEST_CASE("secagg routes: callers, the task, plain updates refused, bad protocol input refused", "[security]") {
  ScratchDir dir("edgefed-secagg");
  ServerProcess server(security_pki(), dir.file("state"),
                       {"--model-init", "mlp:16-8-4", "--secure-aggregation", "secagg+", "--mode", "sync",
                        "--min-updates", "3"});
  server.start();
  auto agent = client_for(server.agent_options(0));

  // The task tells the agent what to do.
  auto task = agent->get("/v1/task");
  REQUIRE(task);
  REQUIRE(task->status == 200);
  const auto t = json::parse(task->body);
  CHECK(t["secure_aggregation"] == "secagg+");
  CHECK(t["secagg_clip"] == 1.0);

  // A plain update is refused with the reason.
  auto m = agent->get("/v1/model");
  REQUIRE(m);
  const auto layout = decode_model_or_throw(m->body).model.layout;
  auto plain = agent->post("/v1/updates", make_update(layout, Pki::agent_id(0), "plain-1", 0, 5, 0.01f));
  REQUIRE(plain);
  check_error(*plain, 422, "unprocessable", "secure aggregation");

  // Who may join: agents only.
  const std::string join_body = R"({"base_version":0})";
  struct Caller {
    const char* name;
    HttpsClientOptions options;
    HttpHeaders headers;
    int expect;
  };
  const std::vector<Caller> callers = {
      {"no certificate", server.anonymous_options(), {}, 401},
      {"viewer", server.viewer_options(), {}, 403},
      {"admin", server.admin_options(), {}, 403},
      {"token", server.anonymous_options(), {{"Authorization", "Bearer " + server.admin_token()}}, 401},
  };
  for (const auto& c : callers) {
    INFO(c.name);
    auto http = client_for(c.options);
    for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"POST", "/v1/secagg/join"}, {"POST", "/v1/secagg/message"}, {"GET", "/v1/secagg/next?session=x"}}) {
      INFO(method << " " << target);
      auto r = http->request(method, target, method == "POST" ? join_body : "", method == "POST" ? "application/json" : "",
                             c.headers);
      REQUIRE(r);
      check_error(*r, c.expect, c.expect == 401 ? "unauthenticated" : "permission_denied");
    }
  }

  // An agent joins the round of version 0; an old or future version is refused.
  auto join = agent->post("/v1/secagg/join", join_body, "application/json");
  REQUIRE(join);
  INFO(join->body);
  REQUIRE(join->status == 200);
  const auto session = json::parse(join->body);
  const std::string id = session["session"].get<std::string>();
  CHECK(session["cohort_size"] == 3);
  CHECK(session["vector_length"] == layout.size());
  auto stale = agent->post("/v1/secagg/join", R"({"base_version":7})", "application/json");
  REQUIRE(stale);
  check_error(*stale, 409, "conflict", "version");
  auto bad_join = agent->post("/v1/secagg/join", R"({"base":0})", "application/json");
  REQUIRE(bad_join);
  check_error(*bad_join, 400, "invalid_argument", "base_version");

  auto next = agent->get("/v1/secagg/next?session=" + id);
  REQUIRE(next);
  REQUIRE(next->status == 200);
  CHECK(json::parse(next->body)["type"] == "wait");
  auto no_session = agent->get("/v1/secagg/next");
  REQUIRE(no_session);
  check_error(*no_session, 400, "invalid_argument", "session");

  // Messages: malformed, for an unknown session, speaking for another id.
  auto junk = agent->post("/v1/secagg/message", "not json", "application/json");
  REQUIRE(junk);
  check_error(*junk, 400, "invalid_argument");
  auto random = secagg::system_random();
  auto other = secagg::ClientRound::create(id, 12345, 10, random);  // not agent-000's id
  REQUIRE(other);
  auto forged = agent->post("/v1/secagg/message", other->advertise().to_json().dump(), "application/json");
  REQUIRE(forged);
  check_error(*forged, 403, "permission_denied", "12345");
  auto elsewhere = secagg::ClientRound::create("no-such-session", 12345, 10, random);
  REQUIRE(elsewhere);
  auto unknown = agent->post("/v1/secagg/message", elsewhere->advertise().to_json().dump(), "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  json broken = other->advertise().to_json();
  broken["enc_public_key"] = "AAAA";
  auto malformed = agent->post("/v1/secagg/message", broken.dump(), "application/json");
  REQUIRE(malformed);
  check_error(*malformed, 400, "invalid_argument", "enc_public_key");

  // The session survived all of it.
  auto still = agent->get("/v1/secagg/next?session=" + id);
  REQUIRE(still);
  CHECK(still->status == 200);
  CHECK(json::parse(still->body)["type"] == "wait");
  CHECK(server.terminate() == 0);
}

TEST_CASE("secagg routes: a server without secure aggregation answers 404 with the reason", "[security]") {
  ScratchDir dir("edgefed-secagg-off");
  ServerProcess server(security_pki(), dir.file("state"), {"--model-init", "mlp:16-8-4"});
  server.start();
  auto agent = client_for(server.agent_options(0));
  auto r = agent->post("/v1/secagg/join", R"({"base_version":0})", "application/json");
  REQUIRE(r);
  check_error(*r, 404, "not_found", "secure aggregation is off");
  auto task = agent->get("/v1/task");
  REQUIRE(task);
  CHECK_FALSE(json::parse(task->body).contains("secure_aggregation"));
  CHECK(server.terminate() == 0);
}

}  // namespace secagg_access_test
