// Cut the link (a fault-injecting TCP proxy between agent and server) for a
// scripted period while the agent trains; on recovery everything queued must
// be forwarded and the outbox must drain, with nothing lost or doubled.
#include <iostream>
#include <thread>

#include <catch2/catch.hpp>

#include "agent_rig.hpp"
#include "tcp_fault_proxy.hpp"

using namespace edgefed::testing;
using edgefed::sim::TcpFaultProxy;

TEST_CASE("edgefed-agent trains through a link cut and forwards everything on recovery", "[integration]") {
  AgentRig rig;
  TcpFaultProxy proxy(rig.server.port());
  AgentProcess agent(rig.agent_args(3, {}, proxy.port()), rig.dir.file("agent.log"));
  agent.start();
  REQUIRE(eventually([&] { return read_agent_journal(rig.agent_state(3)).updates_acked >= 2; },
                     std::chrono::seconds(60)));

  proxy.cut();
  const AgentJournal at_cut = read_agent_journal(rig.agent_state(3));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const AgentJournal end_of_cut = read_agent_journal(rig.agent_state(3));
  INFO(agent.log());
  // It kept training and queued what it could not send.
  CHECK(end_of_cut.updates_created - at_cut.updates_created >= 3);
  CHECK(end_of_cut.pending_updates >= 3);
  CHECK(agent.log().find("link_offline") != std::string::npos);

  proxy.restore();
  const bool drained = eventually(
      [&] {
        const AgentJournal j = read_agent_journal(rig.agent_state(3));
        return j.pending_updates == 0 && j.pending_telemetry == 0 &&
               j.updates_acked >= end_of_cut.updates_created;
      },
      std::chrono::seconds(60));
  CHECK(drained);
  CHECK(agent.log().find("link_recovered") != std::string::npos);
  REQUIRE(agent.terminate() == 0);
  REQUIRE(rig.server.terminate() == 0);

  const AgentJournal j = read_agent_journal(rig.agent_state(3));
  const ServerRecords s = read_server_records(rig.server_state(), Pki::agent_id(3));
  const Reconciliation r = reconcile(j, s);
  std::cout << "link-cut test: " << end_of_cut.pending_updates << " updates queued during a 3 s cut, "
            << j.updates_acked << " updates and " << j.telemetry_acked
            << " telemetry records acknowledged in all; " << r.describe() << "\n";
  CHECK(r.updates_lost == 0);
  CHECK(r.updates_double_counted == 0);
  CHECK(r.telemetry_lost == 0);
  CHECK(r.telemetry_double_counted == 0);
  // What was queued at the end of the cut reached the server.
  CHECK(s.ledger_rows >= end_of_cut.updates_created - j.updates_rejected);
}
