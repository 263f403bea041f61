// SecAggCoordinator driven by real ClientRounds through JSON messages, the
// way the HTTP routes and the agents will drive it: a whole session, phases
// closed by their deadline with dropouts, refusals (impersonation, unknown
// session and type), a sink that fails, and a restart mid-session.
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "edgefed/clock.hpp"
#include "edgefed/secagg/agent_id.hpp"
#include "edgefed/secagg/client_round.hpp"
#include "edgefed/secagg/messages.hpp"
#include "server/secagg/secagg_coordinator.hpp"

using namespace edgefed;
using namespace edgefed::server;
namespace sa = edgefed::secagg;
using nlohmann::json;

namespace {

constexpr uint64_t kLength = 300;
const std::string kSession = "r7";

struct MapSink : SecAggSnapshotSink {
  std::map<std::string, std::vector<uint8_t>> saved;
  int fail_next = 0;
  Status save(const std::string& session, std::span<const uint8_t> bytes) override {
    if (fail_next > 0) {
      --fail_next;
      return Status(Code::kUnavailable, "disk I/O error");
    }
    saved[session].assign(bytes.begin(), bytes.end());
    return Status::ok();
  }
  Status erase(const std::string& session) override {
    saved.erase(session);
    return Status::ok();
  }
};

sa::Key32 key(uint8_t b) {
  sa::Key32 k{};
  k.fill(b);
  return k;
}

// Which step an agent stops before (never sends it).
enum class Drop { kNever, kShares, kMasked, kUnmask };

struct Agent {
  std::string name;
  uint64_t samples;
  std::vector<float> update;
  sa::ClientRound round;
  Drop drop = Drop::kNever;
};

std::vector<Agent> make_agents(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<Agent> out;
  for (int i = 0; i < n; ++i) {
    const std::string name = "agent-" + std::to_string(i);
    std::vector<float> x(kLength);
    for (auto& v : x) v = u(rng);
    const uint64_t samples = 10 + static_cast<uint64_t>(i) * 7;
    auto r = sa::ClientRound::create(kSession, SecAggCoordinator::agent_id_of(name), samples,
                                     sa::deterministic_random(key(static_cast<uint8_t>(i + 1))));
    REQUIRE(r);
    out.push_back(Agent{name, samples, std::move(x), std::move(*r), Drop::kNever});
  }
  return out;
}

// One round trip of `a` with the coordinator: asks what to do and does it;
// whether it posted something.
bool step(SecAggCoordinator& c, Agent& a) {
  auto next = c.next(a.name, kSession);
  REQUIRE(next);
  const std::string type = (*next)["type"].get<std::string>();
  auto random = sa::deterministic_random(key(0x5a));
  if (type == "round_setup") {
    if (a.drop == Drop::kShares) return false;
    auto setup = sa::RoundSetup::from_json(*next);
    REQUIRE(setup);
    auto up = a.round.on_setup(*setup, random);
    REQUIRE(up);
    REQUIRE(c.post(a.name, up->to_json()).is_ok());
  } else if (type == "share_delivery") {
    if (a.drop == Drop::kMasked) return false;
    auto d = sa::ShareDelivery::from_json(*next);
    REQUIRE(d);
    auto q = a.round.quantizer();
    REQUIRE(q);
    auto m = a.round.on_delivery(*d, a.update, *q);
    REQUIRE(m);
    REQUIRE(c.post(a.name, m->to_json()).is_ok());
  } else if (type == "unmask_request") {
    if (a.drop == Drop::kUnmask) return false;
    auto req = sa::UnmaskRequest::from_json(*next);
    REQUIRE(req);
    auto resp = a.round.on_unmask(*req);
    REQUIRE(resp);
    REQUIRE(c.post(a.name, resp->to_json()).is_ok());
  } else {
    return false;
  }
  return true;
}

// Runs rounds of steps and ticks until the session finished (or `max`).
std::vector<SecAggCoordinator::Finished> run(SecAggCoordinator& c, std::vector<Agent>& agents, FakeClock& clock,
                                             int max = 30) {
  for (int i = 0; i < max; ++i) {
    bool posted = false;
    for (auto& a : agents) posted = step(c, a) || posted;
    auto done = c.tick();
    if (!done.empty()) return done;
    // Nobody had anything to say: let the phase's deadline pass.
    if (!posted) clock.advance_s(31);
  }
  return {};
}

std::vector<float> weighted_mean(const std::vector<Agent>& agents, const std::vector<sa::AgentId>& survivors) {
  std::vector<double> sum(kLength, 0.0);
  double n = 0;
  for (const auto& a : agents) {
    if (std::find(survivors.begin(), survivors.end(), SecAggCoordinator::agent_id_of(a.name)) == survivors.end()) {
      continue;
    }
    for (size_t k = 0; k < kLength; ++k) sum[k] += static_cast<double>(a.samples) * a.update[k];
    n += static_cast<double>(a.samples);
  }
  std::vector<float> out(kLength);
  for (size_t k = 0; k < kLength; ++k) out[k] = static_cast<float>(sum[k] / n);
  return out;
}

void check_mean(const sa::AggregateResult& r, const std::vector<Agent>& agents) {
  const auto expect = weighted_mean(agents, r.survivors);
  REQUIRE(r.mean.size() == kLength);
  double worst = 0;
  for (size_t k = 0; k < kLength; ++k) worst = std::max(worst, std::abs(double(r.mean[k]) - expect[k]));
  INFO("worst coordinate error " << worst);
  CHECK(worst < 1e-5);
}

void advertise_all(SecAggCoordinator& c, std::vector<Agent>& agents) {
  for (auto& a : agents) REQUIRE(c.post(a.name, a.round.advertise().to_json()).is_ok());
}

}  // namespace

TEST_CASE("secagg coordinator: agent ids are the ones agents derive themselves", "[unit][secagg]") {
  // The agent cannot include server headers; it calls common's agent_id_of.
  for (const std::string name : {"agent-000", "agent-017", "edge-node.7"}) {
    CHECK(SecAggCoordinator::agent_id_of(name) == sa::agent_id_of(name));
  }
  CHECK(SecAggCoordinator::agent_id_of("agent-000") == 265032954682045206u);
}

TEST_CASE("secagg coordinator: 10 agents through JSON messages give the weighted mean", "[unit][secagg]") {
  FakeClock clock;
  MapSink sink;
  SecAggCoordinator c({}, clock, sink, sa::deterministic_random(key(9)));
  auto agents = make_agents(10, 1);
  REQUIRE(c.open(kSession, kLength, agents.size()).is_ok());
  CHECK(c.open(kSession, kLength, agents.size()).code() == Code::kConflict);
  CHECK((*c.next(agents[0].name, kSession))["type"] == "wait");
  advertise_all(c, agents);
  // All expected agents advertised: the phase closed without waiting.
  CHECK((*c.next(agents[0].name, kSession))["type"] == "round_setup");
  std::vector<SecAggCoordinator::Finished> done;
  for (int i = 0; i < 6 && done.empty(); ++i) {
    for (auto& a : agents) step(c, a);
    done = c.tick();
  }
  REQUIRE(done.size() == 1);
  INFO(done[0].result.status().to_string());
  REQUIRE(done[0].result);
  CHECK(done[0].result->survivors.size() == 10);
  check_mean(*done[0].result, agents);
  CHECK((*c.next(agents[3].name, kSession))["type"] == "done");
  CHECK(c.tick().empty());  // reported once
  CHECK(sink.saved.count(kSession) == 1);
  REQUIRE(c.forget(kSession).is_ok());
  CHECK(sink.saved.empty());
  CHECK(c.next(agents[0].name, kSession).status().code() == Code::kNotFound);
}

TEST_CASE("secagg coordinator: deadlines close phases and the session ends with the survivors", "[unit][secagg]") {
  FakeClock clock;
  MapSink sink;
  SecAggCoordinator c({}, clock, sink, sa::deterministic_random(key(9)));
  auto agents = make_agents(12, 2);
  agents[1].drop = Drop::kShares;
  agents[5].drop = Drop::kMasked;
  agents[8].drop = Drop::kMasked;
  REQUIRE(c.open(kSession, kLength, 20).is_ok());  // 20 expected, 12 come: the deadline closes advertise
  advertise_all(c, agents);
  auto done = run(c, agents, clock);
  REQUIRE(done.size() == 1);
  INFO(done[0].result.status().to_string());
  REQUIRE(done[0].result);
  CHECK(done[0].result->survivors.size() == 9);
  check_mean(*done[0].result, agents);
  // A survivor hears "done"; a dropout, whose update is not in the sum, does not.
  CHECK((*c.next(agents[0].name, kSession))["type"] == "done");
  CHECK((*c.next(agents[5].name, kSession))["type"] == "excluded");
}

TEST_CASE("secagg coordinator: a phase that reached its quorum waits for the rest only as long again",
          "[unit][secagg]") {
  for (const double quorum : {0.9, 1.0}) {
    FakeClock clock;
    MapSink sink;
    SecAggOptions options;
    options.quorum = quorum;
    SecAggCoordinator c(options, clock, sink, sa::deterministic_random(key(9)));
    auto agents = make_agents(10, 5);
    agents[9].drop = Drop::kShares;  // its link dropped after the key exchange
    REQUIRE(c.open(kSession, kLength, agents.size()).is_ok());
    advertise_all(c, agents);
    REQUIRE((*c.next(agents[0].name, kSession))["type"] == "round_setup");
    // The shares come 2 s into the phase: 9 of 10, the quorum of 0.9.
    clock.advance_s(2);
    for (auto& a : agents) step(c, a);
    CHECK(c.tick().empty());
    clock.advance_s(1.9);  // 3.9 s: the 9 took 2 s, the 10th gets 2 s more
    CHECK(c.tick().empty());
    CHECK((*c.next(agents[0].name, kSession))["type"] == "wait");
    clock.advance_s(0.2);  // 4.1 s
    c.tick();
    if (quorum < 1) {
      CHECK((*c.next(agents[0].name, kSession))["type"] == "share_delivery");
    } else {
      // Every agent or the deadline, as before.
      CHECK((*c.next(agents[0].name, kSession))["type"] == "wait");
      clock.advance_s(20);
      c.tick();
      CHECK((*c.next(agents[0].name, kSession))["type"] == "wait");
      clock.advance_s(10);
      c.tick();
      CHECK((*c.next(agents[0].name, kSession))["type"] == "share_delivery");
    }
    auto done = run(c, agents, clock);
    REQUIRE(done.size() == 1);
    INFO(done[0].result.status().to_string());
    REQUIRE(done[0].result);
    CHECK(done[0].result->survivors.size() == 9);
    check_mean(*done[0].result, agents);
  }
}

TEST_CASE("secagg coordinator: too many dropouts abort the session with a reason", "[unit][secagg]") {
  FakeClock clock;
  MapSink sink;
  SecAggCoordinator c({}, clock, sink, sa::deterministic_random(key(9)));
  auto agents = make_agents(6, 3);
  for (int i = 0; i < 5; ++i) agents[static_cast<size_t>(i)].drop = Drop::kMasked;
  REQUIRE(c.open(kSession, kLength, agents.size()).is_ok());
  advertise_all(c, agents);
  auto done = run(c, agents, clock);
  REQUIRE(done.size() == 1);
  REQUIRE_FALSE(done[0].result);
  CHECK(done[0].result.status().code() == Code::kUnprocessable);
  auto next = c.next(agents[5].name, kSession);
  REQUIRE(next);
  CHECK((*next)["type"] == "aborted");
  CHECK_FALSE((*next)["reason"].get<std::string>().empty());
}

TEST_CASE("secagg coordinator: impersonation, unknown sessions and malformed messages are refused", "[unit][secagg]") {
  FakeClock clock;
  MapSink sink;
  SecAggCoordinator c({}, clock, sink, sa::deterministic_random(key(9)));
  auto agents = make_agents(4, 4);
  REQUIRE(c.open(kSession, kLength, agents.size()).is_ok());
  // agent-0's certificate posting agent-1's advertisement.
  const Status st = c.post(agents[0].name, agents[1].round.advertise().to_json());
  CHECK(st.code() == Code::kPermissionDenied);
  CHECK(st.message().find("agent-0") != std::string::npos);
  json other = agents[0].round.advertise().to_json();
  other["session"] = "r8";
  CHECK(c.post(agents[0].name, other).code() == Code::kNotFound);
  json typo = agents[0].round.advertise().to_json();
  typo["type"] = "advertise";
  CHECK(c.post(agents[0].name, typo).code() == Code::kInvalidArgument);
  CHECK(c.post(agents[0].name, json::array()).code() == Code::kInvalidArgument);
  json broken = agents[0].round.advertise().to_json();
  broken["enc_public_key"] = "not base64!";
  CHECK(c.post(agents[0].name, broken).code() == Code::kInvalidArgument);
  // None of it counted: the session still completes with everyone.
  advertise_all(c, agents);
  auto done = run(c, agents, clock);
  REQUIRE(done.size() == 1);
  INFO(done[0].result.status().to_string());
  REQUIRE(done[0].result);
  CHECK(done[0].result->survivors.size() == 4);
  check_mean(*done[0].result, agents);
}

TEST_CASE("secagg coordinator: a message whose snapshot cannot be saved is not acknowledged", "[unit][secagg]") {
  FakeClock clock;
  MapSink sink;
  SecAggCoordinator c({}, clock, sink, sa::deterministic_random(key(9)));
  auto agents = make_agents(5, 5);
  REQUIRE(c.open(kSession, kLength, agents.size()).is_ok());
  sink.fail_next = 1;
  CHECK(c.post(agents[0].name, agents[0].round.advertise().to_json()).code() == Code::kUnavailable);
  const auto saved_before = sink.saved[kSession];
  // The retry is news again (the failed one left no trace) and the session completes.
  advertise_all(c, agents);
  CHECK(sink.saved[kSession] != saved_before);
  auto done = run(c, agents, clock);
  REQUIRE(done.size() == 1);
  INFO(done[0].result.status().to_string());
  REQUIRE(done[0].result);
  CHECK(done[0].result->survivors.size() == 5);
  check_mean(*done[0].result, agents);
}

TEST_CASE("secagg coordinator: a restarted server resumes a session from its saved snapshot", "[unit][secagg]") {
  FakeClock clock;
  MapSink sink;
  auto agents = make_agents(8, 6);
  {
    SecAggCoordinator c({}, clock, sink, sa::deterministic_random(key(9)));
    REQUIRE(c.open(kSession, kLength, agents.size()).is_ok());
    advertise_all(c, agents);
    for (auto& a : agents) step(c, a);  // shares sent
    c.tick();
    for (size_t i = 0; i < 4; ++i) step(c, agents[i]);  // half the masked inputs
  }  // the server dies here
  SecAggCoordinator c2({}, clock, sink, sa::deterministic_random(key(10)));
  REQUIRE(c2.restore(sink.saved.at(kSession), agents.size()).is_ok());
  CHECK(c2.open_sessions() == std::vector<std::string>{kSession});
  auto done = run(c2, agents, clock);
  REQUIRE(done.size() == 1);
  INFO(done[0].result.status().to_string());
  REQUIRE(done[0].result);
  CHECK(done[0].result->survivors.size() == 8);
  check_mean(*done[0].result, agents);
  // A corrupt snapshot is refused.
  auto bad = sink.saved.at(kSession);
  bad[bad.size() / 2] ^= 0x40;
  SecAggCoordinator c3({}, clock, sink, sa::deterministic_random(key(11)));
  CHECK_FALSE(c3.restore(bad, agents.size()).is_ok());
}
