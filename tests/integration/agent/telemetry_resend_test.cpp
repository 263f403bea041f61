// A telemetry batch the server stored but whose ack never reached the agent,
// because the server was SIGKILLed: the restarted server gets the batch again
// from the real agent's outbox, and every telemetry series counts each record
// once (the store decides what is new, not a per-process memory of seqs).
#include <iostream>
#include <thread>

#include <catch2/catch.hpp>

#include "agent_rig.hpp"
#include "metrics_text.hpp"
#include "tcp_fault_proxy.hpp"

using namespace edgefed::testing;
using edgefed::sim::TcpFaultProxy;

namespace {

std::map<std::string, double> scrape(const ServerProcess& server) {
  auto r = server.admin()->get("/metrics");  // admin or viewer only on the HTTPS port
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return metric_samples(r->body);
}

}  // namespace

// How the lost ack is made: the agent queues records while its link is cut
// and is SIGKILLed; the test then posts exactly the batch the agent would send
// for them (its outbox rows), the server stores it and answers, and the
// server is SIGKILLed. For the agent this is its batch stored with the ack
// lost: the records are still in its outbox. (Letting the agent post and
// dropping the answer in the proxy would need a cut between the server's
// commit and its response write, which a test cannot time.) The restarted
// agent then resends them from its outbox, with the records it adds.
TEST_CASE("edgefed-agent resends a batch whose ack a server crash lost: counted once", "[integration]") {
  AgentRig rig;
  const std::string state = rig.agent_state(4);
  TcpFaultProxy proxy(rig.server.port());
  {
    AgentProcess agent(rig.agent_args(4, {}, proxy.port()), rig.dir.file("agent.log"));
    agent.start();
    REQUIRE(eventually(
        [&] {
          const AgentJournal j = read_agent_journal(state);
          return j.updates_acked >= 1 && j.telemetry_acked >= 1;
        },
        std::chrono::seconds(60)));
    proxy.cut();
    REQUIRE(eventually([&] { return read_agent_journal(state).pending_telemetry >= 3; }, std::chrono::seconds(30)));
    agent.kill9();
  }
  const AgentJournal queued = read_agent_journal(state);
  {
    auto r = rig.server.agent(4)->post("/v1/telemetry", pending_telemetry_batch(state, Pki::agent_id(4)),
                                       "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  const auto first = scrape(rig.server);  // all the first process will ever count
  rig.server.kill9();
  rig.server.start();  // same state directory, a new port

  AgentProcess agent(rig.agent_args(4), rig.dir.file("agent.log"));  // straight to the new port
  agent.start();
  const int64_t resent_acked = queued.telemetry_acked + queued.pending_telemetry;
  {
    const bool forwarded = eventually(
        [&] { return read_agent_journal(state).telemetry_acked >= resent_acked + 2; }, std::chrono::seconds(60));
    INFO(agent.log());
    REQUIRE(forwarded);
  }
  agent.kill9();  // nothing more reaches the server
  const auto second = scrape(rig.server);
  REQUIRE(rig.server.terminate() == 0);

  const auto want = expected_fleet_counts(rig.server_state());
  std::cout << "telemetry resend test: " << queued.pending_telemetry << " records stored, ack lost, resent; "
            << want.at("edgefed_telemetry_records_total") << " stored in all\n";
  for (const auto& [series, n] : want) {
    INFO(series << ": first process " << metric_value(first, series) << " + restarted process "
                << metric_value(second, series) << ", records stored " << n);
    CHECK(metric_value(first, series) + metric_value(second, series) == n);
  }
  // Within the restarted process the fleet counted exactly what it stored.
  double fleet = 0;
  for (const char* k : kFleetKinds) fleet += metric_value(second, fleet_kind_series(k));
  CHECK(fleet == metric_value(second, "edgefed_telemetry_records_total"));
}
