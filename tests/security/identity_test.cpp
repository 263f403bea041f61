// Identity and access (issue 9): protocol versions older than TLS 1.3,
// expired and revoked client certificates, an agent reaching only its own
// task and telemetry, replayed update ids, audited admin actions, secrets
// kept out of the logs, private keys and SQLite files kept 0600. Each
// against the real binary over TLS; the server must keep serving and exit
// cleanly (LSan finds no leak) afterwards.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../integration/server/test_updates.hpp"
#include "../support/scratch_dir.hpp"
#include "raw_tls.hpp"
#include "security_pki.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

bool healthy(const ServerProcess& s) {
  auto c = s.agent(0);
  auto r = c->get("/healthz");
  return r && r->status == 200;
}

}  // namespace

TEST_CASE("identity: only TLS 1.3 with a valid, unrevoked client certificate", "[security]") {
  ScratchDir dir("edgefed-sec");
  ServerProcess server(security_pki(), dir.file("state"), [] {
    auto f = crl_flags();
    f.insert(f.end(), {"--model-init", "mlp:16-8-4"});
    return f;
  }());
  server.start();

  SECTION("TLS 1.0, 1.1 and 1.2 clients fail the handshake; 1.3 succeeds") {
    auto [version, name] = GENERATE(table<int, std::string>(
        {{TLS1_VERSION, "TLS 1.0"}, {TLS1_1_VERSION, "TLS 1.1"}, {TLS1_2_VERSION, "TLS 1.2"}}));
    INFO(name);
    RawTlsOptions o = agent_tls(0);
    o.min_version = version;
    o.max_version = version;
    RawTls c;
    CHECK_FALSE(c.connect(server.port(), o));
    RawTls ok;
    REQUIRE(ok.connect(server.port(), agent_tls(0)));
    CHECK(ok.protocol() == "TLSv1.3");
  }

  SECTION("an expired client certificate gets no answer") {
    HttpsClientOptions o = server.anonymous_options();
    o.tls.cert_file = expired_cert();
    o.tls.key_file = expired_key();
    auto c = HttpsClient::create(o);
    REQUIRE(c);
    CHECK_FALSE((*c)->get("/v1/task"));
    CHECK_FALSE((*c)->get("/healthz"));
  }

  SECTION("a revoked client certificate gets no answer; its neighbours do") {
    auto revoked = server.agent(kRevokedAgent);
    CHECK_FALSE(revoked->get("/v1/task"));
    auto fine = server.agent(kRevokedAgent - 1);
    auto r = fine->get("/v1/task");
    REQUIRE(r);
    CHECK(r->status == 200);
  }

  SECTION("an agent reads only its own task, whatever the query says") {
    auto c = server.agent(1);
    for (const char* target : {"/v1/task", "/v1/task?agent_id=agent-002", "/v1/task?agent=agent-002"}) {
      auto r = c->get(target);
      REQUIRE(r);
      REQUIRE(r->status == 200);
      CHECK(nlohmann::json::parse(r->body)["agent_id"] == Pki::agent_id(1));
    }
  }

  SECTION("telemetry naming another agent: 403, nothing stored") {
    nlohmann::json j;
    j["agent_id"] = Pki::agent_id(2);
    j["records"] = {{{"seq", 1}, {"ts_ms", 1000}, {"kind", "train"}, {"values", {{"loss", 0.5}}}}};
    auto c = server.agent(1);
    auto r = c->post("/v1/telemetry", j.dump(), "application/json");
    REQUIRE(r);
    CHECK(r->status == 403);
    auto s = server.admin()->get("/v1/status");
    REQUIRE(s);
    CHECK(nlohmann::json::parse(s->body)["telemetry_records"] == 0);
  }

  SECTION("replay: an update_id is accepted once per agent; the replay gets the same answer") {
    auto c = server.agent(0);
    auto m = c->get("/v1/model");
    REQUIRE(m);
    const auto layout = decode_model_or_throw(m->body).model.layout;
    const std::string body = make_update(layout, Pki::agent_id(0), "replay-1", 0, 5, 0.01f);
    auto first = c->post("/v1/updates", body);
    REQUIRE(first);
    REQUIRE(first->status == 202);
    for (int i = 0; i < 3; ++i) {
      auto again = c->post("/v1/updates", body);
      REQUIRE(again);
      CHECK(again->status == 202);
      auto a = nlohmann::json::parse(again->body), f = nlohmann::json::parse(first->body);
      CHECK(a["duplicate"] == true);
      a.erase("duplicate");
      f.erase("duplicate");
      CHECK(a == f);
    }
    auto s = server.admin()->get("/v1/status");
    REQUIRE(s);
    INFO(s->body);
    CHECK(nlohmann::json::parse(s->body)["updates_accepted"] == 1);
  }

  SECTION("admin actions are audit events with who, what and when; the token never appears in the log") {
    auto admin = server.admin();
    auto q = admin->post("/v1/admin/agents/agent-001/quarantine", R"({"reason":"sensor drift"})",
                         "application/json");
    REQUIRE(q);
    REQUIRE(q->status == 200);
    auto anon = HttpsClient::create(server.anonymous_options());
    REQUIRE(anon);
    auto rel = (*anon)->post("/v1/admin/agents/agent-001/release", "", "application/json",
                             {{"Authorization", "Bearer " + server.admin_token()}});
    REQUIRE(rel);
    REQUIRE(rel->status == 200);
    auto bad = (*anon)->post("/v1/admin/agents/agent-001/release", "", "application/json",
                             {{"Authorization", "Bearer not-the-token-but-long-enough"}});
    REQUIRE(bad);
    CHECK(bad->status == 401);

    int audits = 0;
    std::istringstream lines(server.log());
    for (std::string line; std::getline(lines, line);) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || j.value("event", "") != "audit") continue;
      if (j.value("who", "") == "engine") continue;  // the serving channels' own changes
      ++audits;
      CHECK(j.contains("ts"));
      CHECK(j.contains("who"));
      CHECK(j.contains("action"));
      CHECK(j["detail"]["agent"] == "agent-001");
    }
    CHECK(audits == 2);
    const std::string log = server.log();
    CHECK(log.find("\"who\":\"cert:admin\"") != std::string::npos);
    CHECK(log.find("\"who\":\"token\"") != std::string::npos);
    CHECK(log.find(server.admin_token()) == std::string::npos);
    CHECK(log.find("not-the-token-but-long-enough") == std::string::npos);
    CHECK(log.find("PRIVATE KEY") == std::string::npos);
  }

  CHECK(healthy(server));
  CHECK(server.terminate() == 0);
}

TEST_CASE("identity: keys looser than 0600 are refused at start and state files are 0600", "[security]") {
  ScratchDir dir("edgefed-sec");
  namespace fs = std::filesystem;

  SECTION("a server key readable by group or others") {
    auto mode = GENERATE(0640, 0604, 0644);
    Pki loose{dir.file("loose-pki")};
    fs::create_directories(loose.dir);
    for (const char* f : {"ca.pem", "server.pem", "server.key"})
      fs::copy_file(security_pki().dir + "/" + f, loose.dir + "/" + f, fs::copy_options::overwrite_existing);
    REQUIRE(chmod(loose.server_key().c_str(), static_cast<mode_t>(mode)) == 0);
    ServerProcess server(loose, dir.file("state"), {"--model-init", "mlp:4-2"});
    const std::string error = server.start_error();
    INFO(error);
    CHECK(error.find("refusing a key that group or others may access") != std::string::npos);
    CHECK(error.find("chmod 600") != std::string::npos);
    CHECK(error.find("BEGIN") == std::string::npos);  // the key's contents are not echoed
  }

  SECTION("every SQLite file the server creates is 0600, whatever the umask") {
    const mode_t old = umask(0);
    ServerProcess server(security_pki(), dir.file("state"), {"--model-init", "mlp:4-2"});
    server.start();
    umask(old);
    auto c = server.agent(0);
    auto m = c->get("/v1/model");
    REQUIRE(m);
    const auto layout = decode_model_or_throw(m->body).model.layout;
    auto r = c->post("/v1/updates", make_update(layout, Pki::agent_id(0), "perm-1", 0, 1, 0.1f));
    REQUIRE(r);
    CHECK(r->status == 202);
    int files = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir.file("state"))) {
      if (!e.is_regular_file()) continue;
      ++files;
      struct stat st {};
      REQUIRE(stat(e.path().c_str(), &st) == 0);
      INFO(e.path().string());
      CHECK((st.st_mode & 077) == 0);
    }
    CHECK(files >= 1);
    CHECK(server.terminate() == 0);
  }
}
