#include "server/monitor/outlier_monitor.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <random>

using namespace edgefed::server::monitor;

namespace {

// Honest deltas: the common direction plus a little noise. Bad: noise only,
// ten times larger.
std::vector<float> delta(std::mt19937& rng, bool bad) {
  std::normal_distribution<float> n(0, 1);
  std::vector<float> d(200);
  for (size_t i = 0; i < d.size(); ++i) d[i] = bad ? 10 * n(rng) : (i % 2 ? 1.0f : -1.0f) + 0.3f * n(rng);
  return d;
}

std::vector<float> direction() {
  std::vector<float> d(200);
  for (size_t i = 0; i < d.size(); ++i) d[i] = i % 2 ? 1.0f : -1.0f;
  return d;
}

}  // namespace

TEST_CASE("a corrupted agent is flagged and quarantined, honest ones are not", "[unit]") {
  std::vector<std::string> quarantined;
  OutlierOptions o;
  o.quarantine_after = 3;
  auto registry = std::make_shared<prometheus::Registry>();
  OutlierMonitor m(o, registry, [&](const std::string& a, const std::string&) { quarantined.push_back(a); });
  m.set_direction(direction());
  std::mt19937 rng(7);
  int bad_updates = 0;
  for (int round = 0; round < 20 && quarantined.empty(); ++round) {
    for (int a = 0; a < 5; ++a) {
      const bool bad = a == 3;
      const auto v = m.observe("agent-" + std::to_string(a), delta(rng, bad));
      if (bad) ++bad_updates;
      if (!bad) CHECK_FALSE(v.outlier);
    }
  }
  REQUIRE(quarantined == std::vector<std::string>{"agent-3"});
  CHECK(bad_updates <= 6);  // min_samples / 5 agents rounds + 3 consecutive
  CHECK(m.score("agent-3") > o.threshold);
  CHECK(m.score("agent-0") < o.threshold);
}

TEST_CASE("without quarantine_after nobody is quarantined", "[unit]") {
  int calls = 0;
  OutlierMonitor m(OutlierOptions{}, nullptr, [&](const std::string&, const std::string&) { ++calls; });
  std::mt19937 rng(1);
  for (int i = 0; i < 50; ++i) m.observe("agent-" + std::to_string(i % 4), delta(rng, i % 4 == 0));
  CHECK(calls == 0);
}

TEST_CASE("only the top-N agents get a score series", "[unit]") {
  OutlierOptions o;
  o.top_n = 2;
  OutlierMonitor m(o, nullptr, {});
  std::mt19937 rng(3);
  for (int i = 0; i < 40; ++i) m.observe("agent-" + std::to_string(i), delta(rng, i == 39));
  auto families = m.Collect();
  const auto it = std::find_if(families.begin(), families.end(),
                               [](const auto& f) { return f.name == "edgefed_agent_outlier_score"; });
  REQUIRE(it != families.end());
  REQUIRE(it->metric.size() == 2);
  CHECK(it->metric[0].label[0].value == "agent-39");
}

TEST_CASE("the monitor holds at most quarantine_max_share of the agents in quarantine", "[unit]") {
  std::vector<std::string> quarantined;
  OutlierOptions o;
  o.quarantine_after = 2;
  o.quarantine_max_share = 0.25;  // 8 agents: at most 2
  OutlierMonitor m(o, nullptr, [&](const std::string& a, const std::string&) { quarantined.push_back(a); });
  m.set_direction(direction());
  std::mt19937 rng(3);
  // Agents 0-2 are bad; honest 3-7 keep the median honest.
  int deferred = 0;
  for (int round = 0; round < 30; ++round) {
    for (int a = 0; a < 8; ++a) {
      const std::string id = "agent-" + std::to_string(a);
      // A quarantined agent's updates are refused: the monitor never sees them.
      if (std::find(quarantined.begin(), quarantined.end(), id) != quarantined.end()) continue;
      deferred += m.observe(id, delta(rng, a < 3)).deferred;
    }
  }
  REQUIRE(quarantined.size() == 2);
  for (const auto& id : quarantined) CHECK(id < "agent-3");
  CHECK(deferred == 1);  // the third bad agent: logged once, not quarantined
  // An update of a quarantined agent accepted again means it was released:
  // the cap frees a place and the third bad agent goes in.
  const std::string released = quarantined.front();
  m.observe(released, delta(rng, false));
  bool third = false;
  for (int i = 0; i < 4 && !third; ++i)
    for (int a = 0; a < 3; ++a) {
      const std::string id = "agent-" + std::to_string(a);
      if (std::find(quarantined.begin(), quarantined.end(), id) != quarantined.end()) continue;
      third = third || m.observe(id, delta(rng, true)).quarantine;
    }
  CHECK(third);
}

TEST_CASE("a norm the caller passes scores like the one the monitor computes", "[unit]") {
  // The engine hands over the norm it computed while decoding; the monitor
  // then sums only the dot product. Same inputs, same verdicts and scores.
  OutlierOptions o;
  o.quarantine_after = 3;
  OutlierMonitor summed(o, nullptr, {});
  OutlierMonitor given(o, nullptr, {});
  summed.set_direction(direction());
  given.set_direction(direction());
  std::mt19937 rng(11);
  int outliers = 0;
  for (int i = 0; i < 60; ++i) {
    const std::string agent = "agent-" + std::to_string(i % 5);
    const auto d = delta(rng, i % 5 == 2);
    double n2 = 0;
    for (float v : d) n2 += static_cast<double>(v) * v;
    const auto a = summed.observe(agent, d);
    const auto b = given.observe(agent, d, n2);
    CHECK(a.outlier == b.outlier);
    CHECK(a.quarantine == b.quarantine);
    CHECK(a.score == Approx(b.score).epsilon(1e-9));
    outliers += b.outlier;
  }
  CHECK(outliers > 0);  // the bad agent was scored as one, both ways
  CHECK(given.score("agent-2") == Approx(summed.score("agent-2")).epsilon(1e-9));
}
