// A failing transaction (here: the database hits its size cap) must fail
// the whole batch, leave memory and disk agreeing, and keep every update
// acknowledged before it.
#include <catch2/catch.hpp>

#include "engine_test_support.hpp"

using namespace edgefed;
using namespace edgefed::testing;

TEST_CASE("a failed transaction fails its calls and keeps the engine consistent", "[unit][engine][fault]") {
  TempDir dir;
  const std::string spec = "mlp:784-128-10";  // 407 KB per f32 update: the cap is reached fast
  auto o = small_options(dir.path(), std::make_shared<FakeClock>());
  o.model_init = spec;
  o.buffer_k = 100;
  o.max_db_mb = 3;
  int64_t acked = 0;
  Status failure;
  {
    auto e = Engine::open(o, nullptr).value();
    for (int i = 0; i < 20 && failure.is_ok(); ++i) {
      auto r = e->submit_update("a", as_span(make_update("a", std::to_string(i), 0, 1, 0.5, filled(1.0f, spec), spec)));
      if (r.is_ok()) {
        ++acked;
      } else {
        failure = r.status();
      }
    }
    REQUIRE(!failure.is_ok());
    CHECK(failure.code() == Code::kIo);
    CHECK(acked >= 1);
    CHECK(e->ready());  // state reloaded from disk; still serving
    CHECK(e->status().updates_accepted == acked);
    // Reads and duplicate detection still work after the reload.
    auto dup = e->submit_update("a", as_span(make_update("a", "0", 0, 1, 0.5, filled(1.0f, spec), spec)));
    REQUIRE(dup.is_ok());
    CHECK(dup->duplicate);
    e->shutdown();
  }
  // Without the cap, the failed update can be retried and everything
  // acknowledged before is merged.
  o.max_db_mb = 0;
  o.buffer_k = acked + 1;
  auto e = Engine::open(o, nullptr).value();
  CHECK(e->status().updates_accepted == acked);
  auto retry = e->submit_update("a", as_span(make_update("a", std::to_string(acked), 0, 1, 0.5, filled(1.0f, spec), spec)));
  REQUIRE(retry.is_ok());
  CHECK(!retry->duplicate);
  CHECK(e->current_model().version == 1);
  CHECK(e->status().history.back().updates == acked + 1);
}
