#include <set>

#include <catch2/catch.hpp>

#include "agent/link/backoff.hpp"
#include "agent/link/link_monitor.hpp"

using namespace edgefed::agent;

TEST_CASE("backoff without jitter doubles up to the cap", "[unit]") {
  Backoff b({.initial_ms = 100, .max_ms = 1000, .multiplier = 2.0, .jitter = 0.0, .seed = 1});
  const std::vector<int64_t> want = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int64_t w : want) CHECK(b.next_delay_ms() == w);
  b.reset();
  CHECK(b.next_delay_ms() == 100);
}

TEST_CASE("backoff jitter stays within [base*(1-j), base] and varies", "[unit]") {
  Backoff b({.initial_ms = 1000, .max_ms = 8000, .multiplier = 2.0, .jitter = 0.5, .seed = 7});
  std::vector<int64_t> bases = {1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000};
  std::set<int64_t> seen;
  for (int64_t base : bases) {
    const int64_t d = b.next_delay_ms();
    CHECK(d >= base / 2);
    CHECK(d <= base);
    seen.insert(d);
  }
  CHECK(seen.size() > 4);
  // Same seed, same schedule.
  Backoff a({.initial_ms = 1000, .max_ms = 8000, .multiplier = 2.0, .jitter = 0.5, .seed = 7});
  Backoff c({.initial_ms = 1000, .max_ms = 8000, .multiplier = 2.0, .jitter = 0.5, .seed = 7});
  for (int i = 0; i < 10; ++i) CHECK(a.next_delay_ms() == c.next_delay_ms());
}

TEST_CASE("backoff survives many failures without overflow", "[unit]") {
  Backoff b({.initial_ms = 1, .max_ms = 60000, .multiplier = 10.0, .jitter = 0.0, .seed = 1});
  for (int i = 0; i < 1000; ++i) CHECK(b.next_delay_ms() <= 60000);
  CHECK(b.next_delay_ms() == 60000);
}

TEST_CASE("backoff options are validated", "[unit]") {
  CHECK(validate(BackoffOptions{}).is_ok());
  BackoffOptions o;
  o.initial_ms = 0;
  CHECK_FALSE(validate(o).is_ok());
  o = {};
  o.initial_ms = 10;
  o.max_ms = 5;
  CHECK_FALSE(validate(o).is_ok());
  o = {};
  o.multiplier = 0.5;
  CHECK_FALSE(validate(o).is_ok());
  o = {};
  o.jitter = 1.5;
  CHECK_FALSE(validate(o).is_ok());
}

TEST_CASE("link monitor follows the backoff schedule on a fake clock", "[unit]") {
  edgefed::FakeClock clock;
  LinkMonitor m(clock, {.initial_ms = 100, .max_ms = 400, .multiplier = 2.0, .jitter = 0.0, .seed = 1},
                "agent-1");
  CHECK(m.state() == LinkState::kUnknown);
  CHECK(m.ready());
  m.on_success();
  CHECK(m.state() == LinkState::kOnline);

  m.on_failure("connection refused");
  CHECK(m.state() == LinkState::kOffline);
  CHECK_FALSE(m.ready());
  CHECK(m.wait_ms() == 100);
  clock.advance_ms(99);
  CHECK_FALSE(m.ready());
  clock.advance_ms(1);
  CHECK(m.ready());
  const std::vector<int64_t> schedule = {200, 400, 400};
  for (int64_t d : schedule) {
    m.on_failure("timeout");
    CHECK(m.wait_ms() == d);
    clock.advance_ms(d);
    CHECK(m.ready());
  }
  m.on_failure("503", /*min_delay_ms=*/5000);  // Retry-After lengthens the wait
  CHECK(m.wait_ms() == 5000);
  clock.advance_ms(5000);
  m.on_success();
  CHECK(m.state() == LinkState::kOnline);
  const auto s = m.stats();
  CHECK(s.outages == 1);
  CHECK(s.recoveries == 1);
  CHECK(s.failures == 5);
  CHECK(s.offline_ms == 100 + 200 + 400 + 400 + 5000);
  m.on_failure("again");
  CHECK(m.wait_ms() == 100);  // the schedule restarts after a success
}
