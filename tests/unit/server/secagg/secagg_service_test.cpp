// SecAggService over a real engine and state database, driven by real
// ClientRounds through the JSON the HTTP routes carry: a sync round merged
// as one version holding init + the weighted mean; plain updates and bad
// joins refused; a restart in the middle of a session resumes it and merges
// it exactly once; async cohorts of the same base version, the later one
// merged with its staleness recorded; a cohort left short by a new version
// closes without waiting for its deadline; a dropout before the advertise
// deadline.
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "../engine/engine_test_support.hpp"
#include "edgefed/clock.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/secagg/client_round.hpp"
#include "edgefed/secagg/messages.hpp"
#include "server/secagg/secagg_service.hpp"
#include "server/store/read_only_store.hpp"
#include "server/store/store.hpp"

// Named, not anonymous, and holding the test cases too: unity builds put
// this file next to the coordinator test, whose helpers have the same names.
namespace secagg_service_test {

using namespace edgefed;
using namespace edgefed::server;
using namespace edgefed::testing;
namespace sa = edgefed::secagg;
using nlohmann::json;

// mlp:4-2: 10 parameters.
constexpr size_t kParams = 10;

EngineOptions secure_options(const std::string& dir, std::shared_ptr<FakeClock> clock, MergeMode mode, int64_t k) {
  EngineOptions o = small_options(dir, std::move(clock));
  o.mode = mode;
  o.min_updates = k;
  o.buffer_k = k;
  o.secure_aggregation = SecureAggregation::kSecAggPlus;
  o.secagg_clip = 1.0;
  o.secagg_min_agents = 3;
  o.secagg_phase_timeout_s = 30;
  return o;
}

sa::Key32 key(uint8_t b) {
  sa::Key32 k{};
  k.fill(b);
  return k;
}

struct Agent {
  std::string name;
  uint64_t samples = 0;
  std::vector<float> update;
  std::string session;
  std::optional<sa::ClientRound> round;
  bool silent = false;  // never advertises (a dropout before the setup)
  bool finished = false;
};

std::vector<Agent> make_agents(int n, unsigned seed, const std::string& prefix = "agent-") {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  std::vector<Agent> out;
  for (int i = 0; i < n; ++i) {
    Agent a;
    a.name = prefix + std::to_string(i);
    a.samples = 5 + static_cast<uint64_t>(i) * 3;
    a.update.resize(kParams);
    for (auto& v : a.update) v = u(rng);
    out.push_back(std::move(a));
  }
  return out;
}

void join_all(SecAggService& s, std::vector<Agent>& agents, int64_t base) {
  for (size_t i = 0; i < agents.size(); ++i) {
    Agent& a = agents[i];
    auto j = s.join(a.name, base);
    REQUIRE(j);
    a.session = (*j)["session"].get<std::string>();
    CHECK((*j)["vector_length"] == kParams);
    auto r = sa::ClientRound::create(a.session, SecAggCoordinator::agent_id_of(a.name), a.samples,
                                     sa::deterministic_random(key(static_cast<uint8_t>(i + 1))));
    REQUIRE(r);
    a.round = std::move(*r);
  }
}

void advertise(SecAggService& s, std::vector<Agent>& agents) {
  for (auto& a : agents)
    if (!a.silent) {
      const Status st = s.post(a.name, a.round->advertise().to_json());
      INFO(st.to_string());
      REQUIRE(st.is_ok());
    }
}

// One round trip of each agent; whether anybody posted.
bool step_all(SecAggService& s, std::vector<Agent>& agents) {
  bool posted = false;
  auto random = sa::deterministic_random(key(0x5a));
  for (auto& a : agents) {
    if (a.silent || a.finished) continue;
    auto next = s.next(a.name, a.session);
    REQUIRE(next);
    const std::string type = (*next)["type"].get<std::string>();
    if (type == "round_setup") {
      auto up = a.round->on_setup(*sa::RoundSetup::from_json(*next), random);
      REQUIRE(up);
      REQUIRE(s.post(a.name, up->to_json()).is_ok());
      posted = true;
    } else if (type == "share_delivery") {
      auto q = a.round->quantizer();
      REQUIRE(q);
      auto m = a.round->on_delivery(*sa::ShareDelivery::from_json(*next), a.update, *q);
      REQUIRE(m);
      REQUIRE(s.post(a.name, m->to_json()).is_ok());
      posted = true;
    } else if (type == "unmask_request") {
      auto resp = a.round->on_unmask(*sa::UnmaskRequest::from_json(*next));
      REQUIRE(resp);
      REQUIRE(s.post(a.name, resp->to_json()).is_ok());
      posted = true;
    } else if (type == "done" || type == "aborted") {
      a.finished = true;
    }
  }
  return posted;
}

// Steps and ticks until every agent heard the end (or `max` rounds).
void run_to_end(SecAggService& s, std::vector<Agent>& agents, FakeClock& clock, int max = 40) {
  const auto all_ended = [&] {
    for (const auto& a : agents)
      if (!a.silent && !a.finished) return false;
    return true;
  };
  for (int i = 0; i < max && !all_ended(); ++i) {
    s.tick();
    if (step_all(s, agents) || all_ended()) continue;
    // Nobody had anything to do, even after a tick: let the phase's
    // deadline pass (the agents' polls come well within it).
    s.tick();
    if (!step_all(s, agents)) clock.advance_s(31);
  }
  if (all_ended()) return;
  FAIL("the session did not end");
}

std::vector<float> params_of(Engine& e) {
  const auto snap = e.current_model();
  auto m = decode_model({reinterpret_cast<const uint8_t*>(snap.bytes->data()), snap.bytes->size()});
  REQUIRE(m);
  return m->model.params;
}

std::vector<double> weighted_mean(const std::vector<Agent>& agents) {
  std::vector<double> sum(kParams, 0.0);
  double n = 0;
  for (const auto& a : agents) {
    if (a.silent) continue;
    for (size_t k = 0; k < kParams; ++k) sum[k] += static_cast<double>(a.samples) * a.update[k];
    n += static_cast<double>(a.samples);
  }
  for (auto& v : sum) v /= n;
  return sum;
}

// new == old + scale * mean, coordinate by coordinate (quantization error ~1e-8).
void check_step(const std::vector<float>& before, const std::vector<float>& after, const std::vector<double>& mean,
                double scale) {
  REQUIRE(after.size() == kParams);
  double worst = 0;
  for (size_t k = 0; k < kParams; ++k) {
    worst = std::max(worst, std::abs(double(after[k]) - (double(before[k]) + scale * mean[k])));
  }
  INFO("worst coordinate error " << worst);
  CHECK(worst < 1e-5);
}


TEST_CASE("secagg service: a sync round of 5 agents merges init + their weighted mean, nothing in the clear",
          "[unit][secagg]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = secure_options(dir.path(), clock, MergeMode::kSync, 5);
  auto engine = Engine::open(o, nullptr).value();
  auto service = SecAggService::open(o, *engine, clock, false).value();
  const auto init = params_of(*engine);

  // The task tells agents to use secure aggregation; plain updates are refused.
  auto task = engine->task_for("agent-0");
  REQUIRE(task);
  CHECK(task->secure_aggregation == SecureAggregation::kSecAggPlus);
  CHECK(task->secagg_clip == 1.0);
  auto plain = engine->submit_update("agent-0", as_span(make_update("agent-0", "u1", 0, 5, 0.5, filled(0.1f))));
  REQUIRE(!plain);
  CHECK(plain.status().code() == Code::kUnprocessable);
  CHECK(plain.status().message().find("secure aggregation") != std::string::npos);

  auto agents = make_agents(5, 11);
  CHECK(service->join("agent-0", 3).status().code() == Code::kConflict);  // not the current version
  join_all(*service, agents, 0);
  for (const auto& a : agents) CHECK(a.session == agents[0].session);
  // Joining again gives the same session; a sixth agent waits for the next round.
  CHECK((*service->join("agent-2", 0))["session"] == agents[0].session);
  auto late = service->join("late", 0);
  REQUIRE(late);
  CHECK((*late)["type"] == "round_full");
  CHECK_FALSE(late->contains("session"));

  advertise(*service, agents);
  run_to_end(*service, agents, *clock);
  for (const auto& a : agents) CHECK((*service->next(a.name, a.session))["type"] == "done");
  CHECK(engine->current_model().version == 1);
  check_step(init, params_of(*engine), weighted_mean(agents), 1.0);
  CHECK(service->counters().merged == 1);
  CHECK(service->open_sessions().empty());
  const auto status = engine->status();
  CHECK(status.updates_accepted == 1);  // one sum, not five updates
  service->stop();
  engine->shutdown();

  // What the database holds: the merged sum under the session id, no agent
  // row for it, no session row left.
  auto store = Store::open(dir.path());
  REQUIRE(store);
  auto entry = (*store)->ledger().find(kSecAggLedgerAgent, agents[0].session);
  REQUIRE(entry);
  REQUIRE(entry->has_value());
  CHECK((**entry).num_samples == 5 + 8 + 11 + 14 + 17);
  CHECK((*store)->secagg_sessions().list()->empty());
}

TEST_CASE("secagg service: a restart in the middle of a session resumes it and merges it once", "[unit][secagg]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = secure_options(dir.path(), clock, MergeMode::kSync, 4);
  auto agents = make_agents(4, 12);
  std::vector<float> init;
  {
    auto engine = Engine::open(o, nullptr).value();
    auto service = SecAggService::open(o, *engine, clock, false).value();
    init = params_of(*engine);
    join_all(*service, agents, 0);
    advertise(*service, agents);
    REQUIRE(step_all(*service, agents));  // every agent sent its shares
    CHECK(service->open_sessions().size() == 1);
    service->stop();
    engine->shutdown();
  }
  {
    auto engine = Engine::open(o, nullptr).value();
    auto service = SecAggService::open(o, *engine, clock, false).value();
    CHECK(service->counters().restored == 1);
    REQUIRE(service->open_sessions() == std::vector<std::string>{agents[0].session});
    run_to_end(*service, agents, *clock);
    CHECK(engine->current_model().version == 1);
    check_step(init, params_of(*engine), weighted_mean(agents), 1.0);
    service->stop();
    engine->shutdown();
  }
  {
    // Nothing left to resume, nothing merged twice.
    auto engine = Engine::open(o, nullptr).value();
    auto service = SecAggService::open(o, *engine, clock, false).value();
    CHECK(service->counters().restored == 0);
    service->tick();
    CHECK(engine->current_model().version == 1);
    CHECK(engine->status().updates_accepted == 1);
  }
}

TEST_CASE("secagg service: async cohorts of one base version; the later one merges with its staleness recorded",
          "[unit][secagg]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = secure_options(dir.path(), clock, MergeMode::kAsync, 3);
  o.staleness_fn = StalenessKind::kPolynomial;
  o.staleness_a = 0.5;  // s(1) = 1 / sqrt(2)
  auto engine = Engine::open(o, nullptr).value();
  auto service = SecAggService::open(o, *engine, clock, false).value();
  const auto v0 = params_of(*engine);
  auto first = make_agents(3, 21, "a-");
  auto second = make_agents(3, 22, "b-");
  join_all(*service, first, 0);
  join_all(*service, second, 0);
  CHECK(first[0].session != second[0].session);  // a full cohort starts the next
  advertise(*service, first);
  run_to_end(*service, first, *clock);
  REQUIRE(engine->current_model().version == 1);
  const auto v1 = params_of(*engine);
  check_step(v0, v1, weighted_mean(first), 1.0);
  advertise(*service, second);
  run_to_end(*service, second, *clock);
  REQUIRE(engine->current_model().version == 2);
  // A cohort merged alone takes its full step, like a plain buffer of
  // equally stale updates; the ledger records tau = 1 and s(1) in its weight.
  check_step(v1, params_of(*engine), weighted_mean(second), 1.0);
  service->stop();
  engine->shutdown();
  auto store = Store::open(dir.path());
  REQUIRE(store);
  auto entry = (*store)->ledger().find(kSecAggLedgerAgent, second[0].session);
  REQUIRE(entry);
  REQUIRE(entry->has_value());
  CHECK((**entry).staleness == 1);
  CHECK((**entry).weight == Approx((3 * 5 + 3 + 6) / std::sqrt(2.0)));
}

TEST_CASE("secagg service: a cohort left short by a new version closes without waiting for its deadline",
          "[unit][secagg]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = secure_options(dir.path(), clock, MergeMode::kAsync, 5);
  auto engine = Engine::open(o, nullptr).value();
  auto service = SecAggService::open(o, *engine, clock, false).value();
  auto full = make_agents(5, 41, "a-");
  auto short_of_two = make_agents(3, 42, "b-");
  join_all(*service, full, 0);
  join_all(*service, short_of_two, 0);  // the next cohort, 3 of 5
  advertise(*service, full);
  run_to_end(*service, full, *clock);
  REQUIRE(engine->current_model().version == 1);
  // Version 1 is out: nobody can join the version-0 cohort any more, so the
  // next tick closes it with the 3 it has, and it runs without a deadline.
  service->tick();
  advertise(*service, short_of_two);
  auto next = service->next(short_of_two[0].name, short_of_two[0].session);
  REQUIRE(next);
  CHECK((*next)["type"] == "round_setup");  // no 30 s wait for two agents that never come
  const double t0 = clock->monotonic_s();
  run_to_end(*service, short_of_two, *clock);
  CHECK(clock->monotonic_s() == t0);  // the whole session ran without a deadline passing
  CHECK(engine->current_model().version == 2);
}

TEST_CASE("secagg service: an agent that joined but never advertised is left out at the deadline",
          "[unit][secagg]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = secure_options(dir.path(), clock, MergeMode::kSync, 5);
  auto engine = Engine::open(o, nullptr).value();
  auto service = SecAggService::open(o, *engine, clock, false).value();
  const auto init = params_of(*engine);
  auto agents = make_agents(5, 31);
  agents[2].silent = true;
  join_all(*service, agents, 0);
  advertise(*service, agents);
  run_to_end(*service, agents, *clock);
  CHECK(engine->current_model().version == 1);
  check_step(init, params_of(*engine), weighted_mean(agents), 1.0);  // the mean of the 4 that took part
  // Only the survivors hear "done": the silent agent's update is not in it.
  CHECK((*service->next(agents[0].name, agents[0].session))["type"] == "done");
  CHECK((*service->next(agents[2].name, agents[2].session))["type"] == "excluded");
}

TEST_CASE("secagg service: off, the service does not open; on, validation refuses what needs plain updates",
          "[unit][secagg]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = secure_options(dir.path(), clock, MergeMode::kAsync, 3);
  for (auto agg : {AggregatorKind::kMedian, AggregatorKind::kTrimmedMean, AggregatorKind::kKrum}) {
    auto bad = o;
    bad.aggregator = agg;
    bad.buffer_k = 10;
    const Status st = validate(bad);
    CHECK(st.code() == Code::kInvalidArgument);
    CHECK(st.message().find("--secure-aggregation") != std::string::npos);
  }
  // Clipping and DP move to the agents: allowed, told by the task, and the
  // server's own aggregator neither clips nor adds noise.
  auto dp = o;
  dp.clip_norm = 2.0;
  dp.dp_noise_multiplier = 0.8;
  CHECK(validate(dp).is_ok());
  CHECK(aggregator_options(dp).clip_norm == 0.0);
  CHECK(aggregator_options(dp).dp_noise_multiplier == 0.0);
  auto dp_without_clip = dp;
  dp_without_clip.clip_norm = 0;
  CHECK(validate(dp_without_clip).message().find("--clip-norm") != std::string::npos);
  {
    TempDir dp_dir;
    dp.state_dir = dp_dir.path();
    auto e = Engine::open(dp, nullptr).value();
    auto task = e->task_for("agent-1");
    REQUIRE(task);
    auto back = parse_task(to_json(*task));  // through the wire form
    REQUIRE(back);
    CHECK(back->update_clip_norm == 2.0);
    CHECK(back->dp_noise_multiplier == 0.8);
    CHECK(back->secure_aggregation == SecureAggregation::kSecAggPlus);
  }
  auto small = o;
  small.buffer_k = 2;
  CHECK(validate(small).message().find("--secagg-min-agents") != std::string::npos);
  CHECK(validate(o).is_ok());
  auto off = o;
  off.secure_aggregation = SecureAggregation::kOff;
  auto engine = Engine::open(off, nullptr).value();
  CHECK(SecAggService::open(off, *engine, clock, false).status().code() == Code::kInvalidArgument);
}

}  // namespace secagg_service_test
