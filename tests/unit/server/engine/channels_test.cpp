// Serving channels through the engine's API: the first version is stable,
// each newer candidate becomes the canary of a deterministic cohort, the
// cohort's validation telemetry promotes or rejects it, the task names the
// version each agent serves, and all of it survives a restart.
#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

#include "engine_test_support.hpp"

using namespace edgefed;
using namespace edgefed::testing;
using server::Channel;

namespace {

struct ChannelRig {
  TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::unique_ptr<Engine> engine;
  std::map<std::string, int64_t> seq;

  EngineOptions options() {
    EngineOptions o = small_options(dir.path(), clock);
    o.channels.canary_fraction = 0.25;
    o.channels.canary_min_agents = 2;
    o.channels.canary_timeout_ms = 60000;
    o.channels.canary_soak_ms = 10000;
    return o;
  }
  void open() {
    auto e = Engine::open(options(), nullptr);
    REQUIRE(e.is_ok());
    engine = std::move(*e);
  }
  void send(const std::string& agent, TelemetryRecord r) {
    r.seq = ++seq[agent];
    r.ts_ms = clock->unix_ms();
    TelemetryBatch b{agent, {r}};
    REQUIRE(engine->submit_telemetry(agent, b).is_ok());
  }
  void validate(const std::string& agent, int64_t version, double value, double serving_value) {
    TelemetryRecord r;
    r.kind = "validation";
    r.values = {{"version", double(version)}, {"value", value}, {"serving_value", serving_value}, {"samples", 50.0},
                {"accepted", 0.0}};
    r.labels = {{"metric", "accuracy"}};
    send(agent, r);
  }
  // Waits (real time, bounded) for the writer's channel tick.
  bool until(const std::function<bool(const server::ServingView&)>& done) {
    for (int i = 0; i < 2000; ++i) {
      if (done(*engine->serving())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }
};

std::vector<std::string> agents(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("agent-" + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("a canary is promoted after its soak or rejected at once by its cohort's validation, and the task says what to serve",
          "[unit][engine]") {
  ChannelRig rig;
  rig.open();
  const auto fleet = agents(8);
  for (const auto& a : fleet) {
    TelemetryRecord r;
    r.kind = "system";
    r.values = {{"serving_version", 0.0}};
    rig.send(a, r);
  }
  REQUIRE(rig.until([](const auto& v) { return v.stable == 0 && v.known_agents == 8; }));
  std::vector<std::string> cohort, others;
  for (const auto& a : fleet) (rig.engine->serving()->in_cohort(a) ? cohort : others).push_back(a);
  CHECK(cohort.size() == 2);  // max(ceil(0.25 x 8), 2)
  CHECK(rig.engine->task_for(others[0])->serve_version == 0);
  CHECK(rig.engine->task_for(others[0])->serve_channel == "stable");

  // Version 1 becomes the canary: the cohort serves it, the others stable.
  REQUIRE(rig.engine->init_model(kSpec, 5).is_ok());
  REQUIRE(rig.until([](const auto& v) { return v.canary == 1; }));
  CHECK(rig.engine->task_for(cohort[0])->serve_version == 1);
  CHECK(rig.engine->task_for(cohort[0])->serve_channel == "canary");
  CHECK(rig.engine->task_for(others[0])->serve_version == 0);
  // Validations from outside the cohort count in the figure but do not decide.
  for (const auto& a : others) rig.validate(a, 1, 0.79, 0.80);
  CHECK(rig.engine->serving()->canary == 1);
  rig.validate(cohort[0], 1, 0.80, 0.81);
  CHECK(rig.engine->serving()->canary == 1);
  rig.validate(cohort[0], 1, 0.10, 0.81);  // a resent record: ignored
  rig.validate(cohort[1], 1, 0.82, 0.81);
  // Good enough, but the cohort serves it for the soak time first.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(rig.engine->serving()->canary == 1);
  rig.clock->advance_ms(10000);
  REQUIRE(rig.until([](const auto& v) { return v.stable == 1; }));
  auto v1 = rig.engine->serving();
  CHECK(v1->stable == 1);
  CHECK(v1->canary == -1);
  CHECK(v1->channel_of(1) == Channel::kStable);
  CHECK(v1->validations.at(1).agents == 8);
  CHECK(v1->validations.at(1).cohort_agents == 2);
  CHECK(v1->validations.at(1).worse_by() == Approx(0.01 * 6 / 8 + (0.01 - 0.01) / 8).margin(1e-9));
  CHECK(rig.engine->task_for(others[0])->serve_version == 1);

  // Version 2 is 5 points worse where the cohort validates it: rejected.
  REQUIRE(rig.engine->init_model(kSpec, 6).is_ok());
  REQUIRE(rig.until([](const auto& v) { return v.canary == 2; }));
  rig.validate(cohort[0], 2, 0.76, 0.81);
  rig.validate(cohort[1], 2, 0.76, 0.81);  // rejected at once: no soak for a bad canary
  auto v2 = rig.engine->serving();
  CHECK(v2->channel_of(2) == Channel::kRejected);
  CHECK(v2->channels.at(2).reason.find("-5.00 points") != std::string::npos);
  CHECK(v2->stable == 1);
  CHECK(rig.engine->task_for(cohort[0])->serve_version == 1);  // the cohort goes back to stable
  CHECK(rig.engine->task_for(cohort[0])->serve_channel == "stable");

  // Durable: a restarted engine knows the channels and the figures.
  rig.engine.reset();
  rig.open();
  auto again = rig.engine->serving();
  CHECK(again->stable == 1);
  CHECK(again->channel_of(1) == Channel::kStable);
  CHECK(again->channel_of(2) == Channel::kRejected);
  CHECK(again->validations.at(1).agents == 8);

  // An admin may still promote the rejected version; a rollback's new
  // version is stable at once.
  REQUIRE(rig.engine->promote(2).is_ok());
  CHECK(rig.engine->serving()->stable == 2);
  CHECK(rig.engine->promote(99).code() == Code::kNotFound);
  REQUIRE(rig.engine->rollback(1).is_ok());
  CHECK(rig.engine->serving()->stable == 3);
  CHECK(rig.engine->serving()->channels.at(3).reason == "admin rollback to version 1");
  CHECK(rig.engine->kept(3));
}

TEST_CASE("a canary that hears from too few of its cohort steps back for a newer version", "[unit][engine]") {
  ChannelRig rig;
  rig.open();
  for (const auto& a : agents(4)) {
    TelemetryRecord r;
    r.kind = "system";
    rig.send(a, r);
  }
  REQUIRE(rig.until([](const auto& v) { return v.stable == 0 && v.known_agents == 4; }));
  REQUIRE(rig.engine->init_model(kSpec, 5).is_ok());
  REQUIRE(rig.until([](const auto& v) { return v.canary == 1; }));
  REQUIRE(rig.engine->init_model(kSpec, 6).is_ok());
  // Not timed out yet: the canary stays while version 2 waits.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(rig.engine->serving()->canary == 1);
  rig.clock->advance_ms(60001);
  REQUIRE(rig.until([](const auto& v) { return v.canary == 2; }));
  auto v = rig.engine->serving();
  CHECK(v->channel_of(1) == Channel::kCandidate);
  CHECK(v->channels.at(1).reason == "canary timed out: 0 of 2 cohort validations");
}

TEST_CASE("the stable and canary versions keep their checkpoints past the pruning window", "[unit][engine]") {
  ChannelRig rig;
  EngineOptions o = rig.options();
  o.keep_last_n = 2;
  o.keep_every_m = 0;
  o.buffer_k = 1;
  auto e = Engine::open(o, nullptr);
  REQUIRE(e.is_ok());
  rig.engine = std::move(*e);
  for (const auto& a : agents(4)) {
    TelemetryRecord r;
    r.kind = "system";
    rig.send(a, r);
  }
  REQUIRE(rig.until([](const auto& v) { return v.stable == 0; }));
  REQUIRE(rig.engine->init_model(kSpec, 5).is_ok());
  REQUIRE(rig.until([](const auto& v) { return v.canary == 1; }));
  for (int i = 0; i < 5; ++i) {
    const int64_t base = rig.engine->current_model().version;
    REQUIRE(rig.engine->submit_update("a", as_span(make_update("a", "u" + std::to_string(i), base, 1, 0.5, filled(0.1f))))
                .is_ok());
  }
  REQUIRE(rig.engine->current_model().version == 6);
  CHECK(rig.engine->kept(0));
  CHECK(rig.engine->kept(1));
  CHECK_FALSE(rig.engine->kept(3));
  CHECK(rig.engine->kept_model(0).is_ok());
  CHECK(rig.engine->kept_model(1).is_ok());
  CHECK(rig.engine->kept_model(3).status().code() == Code::kNotFound);
}

TEST_CASE("with canary_fraction 0 there are no channels and the task names no version", "[unit][engine]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  EngineOptions o = small_options(dir.path(), clock);
  o.channels.canary_fraction = 0;
  auto e = Engine::open(o, nullptr);
  REQUIRE(e.is_ok());
  CHECK_FALSE((*e)->serving()->enabled);
  CHECK((*e)->task_for("agent-1")->serve_version == -1);
  CHECK((*e)->promote(0).code() == Code::kUnprocessable);
}

TEST_CASE("the canary cohort takes ceil(fraction) of every device class, topped up to the minimum, deterministically",
          "[unit][engine]") {
  using server::CohortCandidate;
  using server::choose_cohort;
  std::vector<CohortCandidate> fleet;
  for (int i = 0; i < 27; ++i) fleet.push_back({"pi-" + std::to_string(i), "aarch64"});
  for (int i = 0; i < 2; ++i) fleet.push_back({"nuc-" + std::to_string(i), "x86_64"});
  fleet.push_back({"old-0", ""});
  const auto c = choose_cohort(fleet, 0.1, 3);
  // 0.1 x 27 -> 3 (not 4: 2.7000000000000002 rounds up once), 0.1 x 2 -> 1, 0.1 x 1 -> 1.
  CHECK(c.classes.at("aarch64").agents == 27);
  CHECK(c.classes.at("aarch64").cohort == 3);
  CHECK(c.classes.at("x86_64").cohort == 1);
  CHECK(c.classes.at("").cohort == 1);
  CHECK(c.members->size() == 5);
  CHECK(c.members->count("old-0") == 1);
  // Within a class, the lowest hashes of the ids.
  std::vector<std::pair<uint64_t, std::string>> pis;
  for (int i = 0; i < 27; ++i) pis.emplace_back(server::cohort_hash("pi-" + std::to_string(i)), "pi-" + std::to_string(i));
  std::sort(pis.begin(), pis.end());
  for (int i = 0; i < 3; ++i) CHECK(c.members->count(pis[static_cast<size_t>(i)].second) == 1);
  CHECK(c.members->count(pis[3].second) == 0);
  // The same fleet in another order gives the same cohort.
  std::reverse(fleet.begin(), fleet.end());
  CHECK(*choose_cohort(fleet, 0.1, 3).members == *c.members);

  // One class of 6 with a minimum of 4: ceil(0.1 x 6) = 1 from the class,
  // then the next lowest hashes up to 4; never more than the fleet.
  std::vector<CohortCandidate> small;
  for (int i = 0; i < 6; ++i) small.push_back({"s-" + std::to_string(i), "x86_64"});
  CHECK(choose_cohort(small, 0.1, 4).members->size() == 4);
  CHECK(choose_cohort(small, 0.1, 10).members->size() == 6);
  CHECK(choose_cohort({}, 0.1, 3).members->empty());
}

TEST_CASE("agents name their device class in system telemetry: the cohort spans the classes and the class survives a restart",
          "[unit][engine]") {
  ChannelRig rig;
  rig.open();
  // 7 agents of one class and 1 of another: by hash alone 2 of 8 would
  // most likely all be "pi"; per class the "nuc" is always in.
  const auto fleet = agents(8);
  for (size_t i = 0; i < fleet.size(); ++i) {
    TelemetryRecord r;
    r.kind = "system";
    r.labels = {{"device_class", i == 5 ? "nuc" : "pi"}};
    rig.send(fleet[i], r);
  }
  auto spread = [](const server::ServingView& v) {
    auto pi = v.classes.find("pi"), nuc = v.classes.find("nuc");
    return v.known_agents == 8 && pi != v.classes.end() && nuc != v.classes.end() && pi->second.agents == 7 &&
           nuc->second.agents == 1;
  };
  REQUIRE(rig.until(spread));
  auto v = rig.engine->serving();
  CHECK(v->in_cohort("agent-5"));
  CHECK(v->classes.at("pi").cohort == 2);  // ceil(0.25 x 7)
  CHECK(v->classes.at("nuc").cohort == 1);
  CHECK(v->cohort_size == 3);
  for (const auto& a : rig.engine->status().agent_list)
    if (a.agent_id == "agent-5") CHECK(a.device_class == "nuc");

  // A class that changes moves the agent; a bad name is no class.
  TelemetryRecord moved;
  moved.kind = "system";
  moved.labels = {{"device_class", "pi"}};
  rig.send("agent-5", moved);
  REQUIRE(rig.until([](const auto& s) { return s.classes.count("nuc") == 0; }));
  TelemetryRecord bad;
  bad.kind = "system";
  bad.labels = {{"device_class", "no spaces"}};
  rig.send("agent-5", bad);
  auto class_of = [&rig](const std::string& id) {
    for (const auto& a : rig.engine->status().agent_list)
      if (a.agent_id == id) return a.device_class;
    return std::string("?");
  };
  CHECK(class_of("agent-5") == "pi");
  TelemetryRecord back;
  back.kind = "system";
  back.labels = {{"device_class", "nuc"}};
  rig.send("agent-5", back);
  REQUIRE(rig.until([](const auto& s) { return s.classes.count("nuc") == 1; }));

  // The classes are in the agents table: a restarted engine draws the same cohort.
  const auto before = *rig.engine->serving()->cohort;
  rig.engine.reset();
  rig.open();
  REQUIRE(rig.until([](const auto& s) { return s.known_agents == 8 && s.classes.count("nuc") == 1; }));
  CHECK(*rig.engine->serving()->cohort == before);
}
