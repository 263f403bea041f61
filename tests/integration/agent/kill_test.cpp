// SIGKILL the agent at random moments while it trains and writes, restart
// it, and finally compare what the server holds with the agent's journal.
#include <iostream>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "agent_rig.hpp"

using namespace edgefed::testing;

TEST_CASE("edgefed-agent killed with SIGKILL while writing loses and doubles nothing", "[integration]") {
  AgentRig rig;
  std::mt19937 rng(11);
  int64_t kills = 0;
  for (int cycle = 0; cycle < 5; ++cycle) {
    AgentProcess agent(rig.agent_args(2, {"--round-interval-ms", "20", "--telemetry-interval-ms", "30"}),
                       rig.dir.file("agent.log"));
    agent.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + rng() % 900));
    REQUIRE(agent.running());
    agent.kill9();
    ++kills;
  }
  const AgentJournal before = read_agent_journal(rig.agent_state(2));
  CHECK(before.updates_created >= 5);
  // A last run forwards whatever the kills left queued.
  AgentProcess last(rig.agent_args(2, {"--once"}), rig.dir.file("agent.log"));
  last.start();
  const int rc = last.wait(std::chrono::seconds(90));
  INFO(last.log());
  REQUIRE(rc == 0);
  REQUIRE(rig.server.terminate() == 0);

  const AgentJournal j = read_agent_journal(rig.agent_state(2));
  const ServerRecords s = read_server_records(rig.server_state(), Pki::agent_id(2));
  const Reconciliation r = reconcile(j, s);
  std::cout << "agent SIGKILL test: " << kills << " kills, " << j.updates_acked << " updates and "
            << j.telemetry_acked << " telemetry records acknowledged; " << r.describe() << "\n";
  CHECK(j.pending_updates == 0);
  CHECK(j.pending_telemetry == 0);
  CHECK(s.update_ids == j.acked_update_ids);
  CHECK(r.updates_lost == 0);
  CHECK(r.updates_double_counted == 0);
  CHECK(r.telemetry_lost == 0);
  CHECK(r.telemetry_double_counted == 0);
}
