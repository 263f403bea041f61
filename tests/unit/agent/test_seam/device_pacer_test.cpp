// Fleet time's accounting: a round lasts cpu x slowdown x dilation wall
// seconds; one that already took longer is counted behind.
#include <catch2/catch.hpp>

#include <time.h>

#include <cmath>

#include "agent/test_seam/device_pacer.hpp"

using edgefed::agent::DevicePacer;
using edgefed::agent::DeviceProfile;

TEST_CASE("device pacer: a round waits out its device time, an overrun is counted behind", "[unit]") {
  DevicePacer p(DeviceProfile{4.0, 2.0});  // a device 4x slower, 2 wall s per fleet s
  // 0.1 s of CPU: 0.4 device s, 0.8 wall s; 0.3 s already passed.
  CHECK(p.wait_after_round(0.1, 0.3) == Approx(0.5));
  // Contention stretched the round past its budget: no wait, counted.
  CHECK(p.wait_after_round(0.1, 1.0) == 0);
  CHECK(p.wait_after_round(0.2, 1.6) == Approx(0.0).margin(1e-12));  // exactly on budget is not behind
  const auto s = p.stats();
  CHECK(s.rounds == 3);
  CHECK(s.rounds_behind == 1);
  CHECK(s.cpu_s == Approx(0.4));
  CHECK(s.device_s == Approx(1.6));
  CHECK(s.overrun_wall_s == Approx(0.2));
  // Nonsense readings count as zero.
  CHECK(p.wait_after_round(NAN, -1) == 0);
  CHECK(p.stats().rounds == 4);
}

TEST_CASE("device pacer: the link adds a latency per transfer and the bytes at its rates", "[unit]") {
  // An LTE gateway: 50 ms per request, 1 MB/s up, 4 MB/s down; dilation 10.
  DevicePacer p(DeviceProfile{2.0, 10.0, 0.05, 1e6, 4e6});
  using edgefed::agent::RoundTraffic;
  CHECK(p.network_seconds(RoundTraffic{4'000'000, 500'000}) == Approx(0.05 + 1.0 + 0.05 + 0.5));
  CHECK(p.network_seconds(RoundTraffic{0, 500'000}) == Approx(0.55));  // the model was already held
  CHECK(p.network_seconds(RoundTraffic{}) == 0);
  // 0.01 s CPU -> 0.02 device s; + 0.55 s link = 0.57 fleet s = 5.7 wall s.
  CHECK(p.wait_after_round(0.01, 0.05, RoundTraffic{0, 500'000}) == Approx(5.7 - 0.05));
  // The compute overran its 0.2 s budget (counted behind) but the link's time is still waited.
  CHECK(p.wait_after_round(0.01, 0.3, RoundTraffic{0, 500'000}) == Approx(5.7 - 0.3));
  const auto s = p.stats();
  CHECK(s.rounds_behind == 1);
  CHECK(s.network_s == Approx(1.1));
  // No link given: loopback costs nothing.
  CHECK(DevicePacer(DeviceProfile{1.0, 1.0}).network_seconds(RoundTraffic{1 << 20, 1 << 20}) == 0);
}

TEST_CASE("thread CPU time grows with work on this thread, not with sleeping", "[unit]") {
  const double t0 = edgefed::agent::thread_cpu_seconds();
  volatile double x = 0;
  for (int i = 0; i < 20'000'000; ++i) x = x + std::sqrt(static_cast<double>(i));
  const double t1 = edgefed::agent::thread_cpu_seconds();
  CHECK(t1 > t0);
  struct timespec ts {0, 50'000'000};
  nanosleep(&ts, nullptr);  // 50 ms asleep
  CHECK(edgefed::agent::thread_cpu_seconds() - t1 < 0.04);
}
