// edgefed-agent with secure aggregation (--secure-aggregation=secagg+ on the
// server): real agents and the real server over mutual TLS on 127.0.0.1.
// Four agents form one sync round's SecAgg+ session; the server merges only
// their sum (one ledger row of agent "secagg"), each agent's outbox counts
// one round done and keeps none; an agent SIGKILLed mid-round resumes its
// stored round after a restart; plain updates are refused with 422.
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent_rig.hpp"
#include "test_updates.hpp"

namespace edgefed::testing::secagg_agent_test {

// A sync server whose rounds are SecAgg+ sessions of `cohort` agents.
std::vector<std::string> secagg_server_flags(int cohort) {
  return {"--model-init", "mlp:4-8-3", "--mode", "sync", "--min-updates", std::to_string(cohort),
          "--round-timeout", "0", "--secure-aggregation", "secagg+", "--secagg-phase-timeout", "30",
          "--task-batch-size", "8", "--task-lr", "0.1"};
}

std::string agent_log(const AgentRig& rig, int i) { return rig.dir.file("agent-" + std::to_string(i) + ".log"); }

TEST_CASE("edgefed-agent --once with secure aggregation: four agents, one session, only the sum merged",
          "[integration]") {
  AgentRig rig(secagg_server_flags(4));
  std::vector<std::unique_ptr<AgentProcess>> agents;
  for (int i = 0; i < 4; ++i) {
    agents.push_back(std::make_unique<AgentProcess>(rig.agent_args(i, {"--once", "--secagg-poll-ms", "50"}),
                                                    agent_log(rig, i)));
    agents.back()->start();
  }
  for (int i = 0; i < 4; ++i) {
    const int rc = agents[i]->wait(std::chrono::seconds(120));
    INFO("agent " << i << ": " << agents[i]->log());
    CHECK(rc == 0);
    CHECK(agents[i]->log().find("\"secagg_round_ended\"") != std::string::npos);
    CHECK(agents[i]->log().find("\"outcome\":\"done\"") != std::string::npos);
  }
  // The session's sum became version 1.
  CHECK(eventually([&] { return newest_version(rig.server_state()) >= 1; }, std::chrono::seconds(30)));
  INFO(rig.server.log());
  REQUIRE(rig.server.terminate() == 0);
  CHECK(newest_version(rig.server_state()) == 1);
  const ServerRecords sum = read_server_records(rig.server_state(), "secagg");
  CHECK(sum.ledger_rows == 1);
  for (int i = 0; i < 4; ++i) {
    INFO("agent " << i);
    const ServerRecords s = read_server_records(rig.server_state(), Pki::agent_id(i));
    CHECK(s.ledger_rows == 0);  // no plain update of any agent
    CHECK(s.telemetry_rows > 0);
    const AgentJournal j = read_agent_journal(rig.agent_state(i));
    CHECK(j.secagg_rounds_created == 1);
    CHECK(j.secagg_rounds_done == 1);
    CHECK(j.secagg_rounds_aborted == 0);
    CHECK(j.pending_secagg_rounds == 0);
    CHECK(j.updates_created == 0);
  }
}

TEST_CASE("edgefed-agent with secure aggregation: an agent killed mid-round resumes it after a restart",
          "[integration]") {
  AgentRig rig(secagg_server_flags(4));
  std::vector<std::unique_ptr<AgentProcess>> agents;
  const std::vector<std::string> extra = {"--secagg-poll-ms", "50", "--model-wait-s", "2"};
  for (int i = 0; i < 4; ++i) {
    agents.push_back(std::make_unique<AgentProcess>(rig.agent_args(i, extra), agent_log(rig, i)));
    agents.back()->start();
  }
  // Agent 0 has stored its round (keys and delta): kill it before the
  // session can end, and start it again on the same state dir.
  REQUIRE(eventually([&] { return read_agent_journal(rig.agent_state(0)).pending_secagg_rounds == 1; },
                     std::chrono::seconds(60)));
  agents[0]->kill9();
  const AgentJournal killed = read_agent_journal(rig.agent_state(0));
  agents[0] = std::make_unique<AgentProcess>(rig.agent_args(0, extra), rig.dir.file("agent-0-restarted.log"));
  agents[0]->start();
  const bool merged = eventually([&] { return newest_version(rig.server_state()) >= 1; }, std::chrono::seconds(90));
  INFO(agents[0]->log());
  CHECK(merged);
  // The restarted agent finished the round it had stored, as done.
  CHECK(eventually([&] { return read_agent_journal(rig.agent_state(0)).secagg_rounds_done >= 1; },
                   std::chrono::seconds(30)));
  if (killed.secagg_rounds_done == 0 && killed.pending_secagg_rounds == 1)
    CHECK(agents[0]->log().find("\"secagg_round_resumed\"") != std::string::npos);
  for (auto& a : agents) CHECK(a->terminate() == 0);
  INFO(rig.server.log());
  REQUIRE(rig.server.terminate() == 0);
  CHECK(newest_version(rig.server_state()) >= 1);
  CHECK(read_server_records(rig.server_state(), "secagg").ledger_rows == newest_version(rig.server_state()));
  for (int i = 0; i < 4; ++i) {
    INFO("agent " << i);
    CHECK(read_server_records(rig.server_state(), Pki::agent_id(i)).ledger_rows == 0);
    const AgentJournal j = read_agent_journal(rig.agent_state(i));
    CHECK(j.secagg_rounds_done >= 1);
    CHECK(j.secagg_rounds_created == j.secagg_rounds_done + j.secagg_rounds_aborted + j.pending_secagg_rounds);
    CHECK(j.updates_created == 0);
  }
}

TEST_CASE("a server with secure aggregation answers a plain update with 422 naming secure aggregation",
          "[integration]") {
  AgentRig rig(secagg_server_flags(4));
  auto client = rig.server.agent(0);
  auto model = client->get("/v1/model");
  REQUIRE(model.is_ok());
  REQUIRE(model->status == 200);
  const DecodedModel m = decode_model_or_throw(model->body);
  const std::string body = make_update(m.model.layout, Pki::agent_id(0), "plain-1", m.version, 10, 0.01f);
  auto r = client->post("/v1/updates", body);
  REQUIRE(r.is_ok());
  CHECK(r->status == 422);
  const auto j = nlohmann::json::parse(r->body, nullptr, false);
  INFO(r->body);
  REQUIRE(j.is_object());
  CHECK(j["error"]["code"] == "unprocessable");
  CHECK(j["error"]["message"].get<std::string>().find("secure aggregation") != std::string::npos);
  REQUIRE(rig.server.terminate() == 0);
  CHECK(read_server_records(rig.server_state(), Pki::agent_id(0)).ledger_rows == 0);
}

}  // namespace edgefed::testing::secagg_agent_test
