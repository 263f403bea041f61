// A relay's partial sums (server/engine/relay_batcher.hpp) through the
// engine: full chunks at once, remainders on their own base's flush clock,
// exact weighted means, and a cut uplink's updates held and summed
// together once it is back.
#include <catch2/catch.hpp>

#include <thread>

#include "engine_test_support.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace relay_batcher_test {

struct Relay {
  TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::unique_ptr<Engine> engine;
  Relay() {
    auto o = small_options(dir.path(), clock);
    o.relay = true;
    o.relay_k = 3;
    o.relay_flush_s = 10;
    o.relay_agent_id = "site-a";
    o.channels.canary_fraction = 0;
    engine = Engine::open(o, nullptr).value();
  }
  void push(const std::string& agent, const std::string& id, int64_t base, int64_t n, float value) {
    REQUIRE(engine->submit_update(agent, as_span(make_update(agent, id, base, n, 0.5, filled(value)))).is_ok());
  }
  // The unsent batches once `count` are there (the writer's timer forms
  // the due ones every few milliseconds); bounded.
  std::vector<Engine::RelayBatchToSend> batches(size_t count) {
    std::vector<Engine::RelayBatchToSend> b;
    for (int t = 0; t < 400; ++t) {
      b = engine->unsent_relay_batches(100).value();
      if (b.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return b;
  }
  // The writer's timer gets a few turns.
  static void let_timers_run() { std::this_thread::sleep_for(std::chrono::milliseconds(60)); }
};

}  // namespace relay_batcher_test

using relay_batcher_test::Relay;

TEST_CASE("relay: a chunk of K leaves with its K-th update, as the exact weighted mean", "[unit][engine][relay]") {
  Relay r;
  r.push("a", "1", 0, 1, 1.0f);
  r.push("b", "1", 0, 3, 5.0f);
  Relay::let_timers_run();
  CHECK(r.engine->unsent_relay_batches(100).value().empty());  // 2 < K, flush 10 s away
  r.push("c", "1", 0, 4, 2.0f);
  auto b = r.batches(1);  // no clock moved: formed by the count alone
  REQUIRE(b.size() == 1);
  CHECK(b[0].updates == 3);
  CHECK(b[0].samples == 8);
  CHECK(b[0].base_version == 0);
  CHECK(r.engine->relay_batches_formed() == 1);
  auto u = decode_update(as_span(b[0].body), layout_of()).value();
  CHECK(u.meta.agent_id == "site-a");
  CHECK(u.meta.num_samples == 8);
  for (float x : u.delta) CHECK(x == Approx((1.0 * 1 + 3.0 * 5 + 4.0 * 2) / 8));
}

TEST_CASE("relay: each base version's remainder waits on its own flush clock", "[unit][engine][relay]") {
  Relay r;
  r.push("a", "1", 0, 1, 1.0f);
  r.push("b", "1", 0, 1, 1.0f);
  r.clock->advance_s(6);
  // A newer central version, and an update of it 6 s after those of v0.
  const auto current = r.engine->current_model();
  REQUIRE(r.engine->adopt_upstream(1, as_span(*current.bytes)).is_ok());
  r.push("c", "1", 1, 1, 1.0f);
  r.clock->advance_s(4.5);  // v0's oldest waited 10.5 s, v1's 4.5 s
  auto b = r.batches(1);
  REQUIRE(b.size() == 1);
  CHECK(b[0].base_version == 0);
  CHECK(b[0].updates == 2);
  Relay::let_timers_run();
  CHECK(r.engine->unsent_relay_batches(100).value().size() == 1);  // v1's one has not waited 10 s
  r.clock->advance_s(6);
  b = r.batches(2);
  REQUIRE(b.size() == 2);
  CHECK(b[1].base_version == 1);
  CHECK(b[1].updates == 1);
}

TEST_CASE("relay: while the uplink is down, updates are held and leave together once it is back",
          "[unit][engine][relay]") {
  Relay r;
  r.engine->set_relay_uplink_up(false);
  Relay::let_timers_run();
  for (int i = 0; i < 7; ++i) r.push("agent-" + std::to_string(i), "1", 0, i + 1, static_cast<float>(i));
  r.clock->advance_s(100);  // far past the flush: a cut holds them anyway
  Relay::let_timers_run();
  CHECK(r.engine->unsent_relay_batches(100).value().empty());
  r.engine->set_relay_uplink_up(true);
  auto b = r.batches(1);
  Relay::let_timers_run();
  b = r.engine->unsent_relay_batches(100).value();
  REQUIRE(b.size() == 1);  // one sum of 7, not chunks of K = 3
  CHECK(b[0].updates == 7);
  CHECK(b[0].samples == 28);
  auto u = decode_update(as_span(b[0].body), layout_of()).value();
  double expected = 0;
  for (int i = 0; i < 7; ++i) expected += (i + 1) * i;
  for (float x : u.delta) CHECK(x == Approx(expected / 28));
  // Back to chunks of K afterwards.
  for (int i = 0; i < 3; ++i) r.push("agent-" + std::to_string(i), "2", 0, 1, 1.0f);
  b = r.batches(2);
  REQUIRE(b.size() == 2);
  CHECK(b[1].updates == 3);
}
