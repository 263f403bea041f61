// Exact arithmetic of the async (FedBuff) and sync (FedAvg) merges on small
// inputs whose results are exactly representable.
#include <catch2/catch.hpp>

#include "engine_test_support.hpp"

using namespace edgefed;
using namespace edgefed::testing;

TEST_CASE("async merge: weighted by num_samples x s(tau), scaled by server_lr", "[unit][engine]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = small_options(dir.path(), clock);
  o.buffer_k = 2;
  o.server_lr = 0.5;
  o.staleness_fn = server::StalenessKind::kPolynomial;
  o.staleness_a = 1.0;  // s(tau) = 1 / (1 + tau)
  auto engine = Engine::open(o, nullptr);
  REQUIRE(engine.is_ok());
  Engine& e = **engine;
  const auto v0 = params_of(e.current_model());

  auto a1 = e.submit_update("a1", as_span(make_update("a1", "u1", 0, 100, 1.0, filled(1.0f))));
  REQUIRE(a1.is_ok());
  CHECK(a1->version == 0);
  CHECK(a1->staleness == 0);
  CHECK(a1->weight == 100);
  CHECK(!a1->duplicate);
  CHECK(e.current_model().version == 0);
  auto a2 = e.submit_update("a2", as_span(make_update("a2", "u1", 0, 300, 2.0, filled(4.0f))));
  REQUIRE(a2.is_ok());
  // K = 2 reached: version 1 is committed before the second ack returns.
  const auto snap1 = e.current_model();
  REQUIRE(snap1.version == 1);
  // mean = (100 * 1 + 300 * 4) / 400 = 3.25 (the unweighted mean, 2.5, is
  // NVIDIA FLARE's old FedBuff bug); step = 0.5 * 3.25.
  const auto v1 = params_of(snap1);
  for (size_t i = 0; i < v0.size(); ++i) CHECK(v1[i] == v0[i] + 1.625f);

  auto st = e.status();
  REQUIRE(st.history.size() == 2);
  CHECK(st.history[1].version == 1);
  CHECK(st.history[1].updates == 2);
  CHECK(*st.history[1].loss == 1.75);  // (100 * 1 + 300 * 2) / 400
  // ||1 - 3.25||^2 x 10 = 50.625, ||4 - 3.25||^2 x 10 = 5.625, weighted
  CHECK(st.history[1].gradient_variance == Approx(16.875).epsilon(1e-12));
  CHECK(*st.global_loss == 1.75);

  // A stale update (base 0 at version 1, tau = 1) weighs num_samples / 2.
  auto a3 = e.submit_update("a1", as_span(make_update("a1", "u2", 0, 200, 0.0, filled(2.0f))));
  REQUIRE(a3.is_ok());
  CHECK(a3->version == 1);
  CHECK(a3->staleness == 1);
  CHECK(a3->weight == 100);
  auto a4 = e.submit_update("a2", as_span(make_update("a2", "u2", 1, 100, 0.0, filled(0.0f))));
  REQUIRE(a4.is_ok());
  CHECK(a4->weight == 100);
  const auto v2 = params_of(e.current_model());
  // mean = (100 * 2 + 100 * 0) / 200 = 1; step 0.5.
  for (size_t i = 0; i < v0.size(); ++i) CHECK(v2[i] == v1[i] + 0.5f);
  CHECK(e.status().updates_merged == 4);
}

TEST_CASE("sync merge: FedAvg round closes at min_updates, weights by num_samples", "[unit][engine]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = small_options(dir.path(), clock);
  o.mode = edgefed::MergeMode::kSync;
  o.min_updates = 3;
  auto engine = Engine::open(o, nullptr);
  REQUIRE(engine.is_ok());
  Engine& e = **engine;
  const auto v0 = params_of(e.current_model());
  REQUIRE(e.submit_update("a", as_span(make_update("a", "1", 0, 1, 0.5, filled(10.0f)))).is_ok());
  REQUIRE(e.submit_update("b", as_span(make_update("b", "1", 0, 2, 0.5, filled(0.0f)))).is_ok());
  CHECK(e.current_model().version == 0);
  REQUIRE(e.submit_update("c", as_span(make_update("c", "1", 0, 7, 0.5, filled(0.0f)))).is_ok());
  REQUIRE(e.current_model().version == 1);
  const auto v1 = params_of(e.current_model());
  for (size_t i = 0; i < v0.size(); ++i) CHECK(v1[i] == v0[i] + 1.0f);  // 10 x 1 / 10
  CHECK(e.task_for("a")->round == 1);

  SECTION("stale updates are weighted by s(tau) under the 'weight' policy") {
    auto ack = e.submit_update("a", as_span(make_update("a", "2", 0, 4, 0.5, filled(1.0f))));
    REQUIRE(ack.is_ok());
    CHECK(ack->staleness == 1);
    CHECK(ack->weight == 4);  // constant s
  }
}

TEST_CASE("sync merge: the 'refuse' policy answers 410 for an older base", "[unit][engine]") {
  TempDir dir;
  auto o = small_options(dir.path(), std::make_shared<FakeClock>());
  o.mode = edgefed::MergeMode::kSync;
  o.min_updates = 1;
  o.sync_stale_policy = server::SyncStalePolicy::kRefuse;
  auto engine = Engine::open(o, nullptr);
  REQUIRE(engine.is_ok());
  Engine& e = **engine;
  REQUIRE(e.submit_update("a", as_span(make_update("a", "1", 0, 1, 0.5, filled(1.0f)))).is_ok());
  REQUIRE(e.current_model().version == 1);
  auto stale = e.submit_update("b", as_span(make_update("b", "1", 0, 1, 0.5, filled(1.0f))));
  CHECK(stale.status().code() == Code::kTooStale);
  CHECK(e.submit_update("b", as_span(make_update("b", "2", 1, 1, 0.5, filled(1.0f)))).is_ok());
}

TEST_CASE("sync round timeout closes with min_updates_on_timeout", "[unit][engine]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = small_options(dir.path(), clock);
  o.mode = edgefed::MergeMode::kSync;
  o.min_updates = 5;
  o.round_timeout_s = 10;
  o.min_updates_on_timeout = 2;
  auto engine = Engine::open(o, nullptr);
  REQUIRE(engine.is_ok());
  Engine& e = **engine;
  REQUIRE(e.submit_update("a", as_span(make_update("a", "1", 0, 1, 0.5, filled(2.0f)))).is_ok());
  clock->advance_s(11);
  CHECK(!wait_version(e, 1, 0.2));  // timed out, but only one update
  REQUIRE(e.submit_update("b", as_span(make_update("b", "1", 0, 1, 0.5, filled(4.0f)))).is_ok());
  REQUIRE(wait_version(e, 1));
  CHECK(e.status().history.back().updates == 2);
}

TEST_CASE("async buffer timeout commits a partial buffer", "[unit][engine]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto o = small_options(dir.path(), clock);
  o.buffer_k = 10;
  o.buffer_timeout_s = 5;
  auto engine = Engine::open(o, nullptr);
  REQUIRE(engine.is_ok());
  Engine& e = **engine;
  clock->advance_s(60);  // an empty buffer never times out
  CHECK(!wait_version(e, 1, 0.1));
  REQUIRE(e.submit_update("a", as_span(make_update("a", "1", 0, 1, 0.5, filled(2.0f)))).is_ok());
  clock->advance_s(4);
  CHECK(!wait_version(e, 1, 0.1));
  clock->advance_s(2);
  REQUIRE(wait_version(e, 1));
  CHECK(e.status().history.back().updates == 1);
}
