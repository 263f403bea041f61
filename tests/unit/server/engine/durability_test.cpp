// Crash recovery at the library level: a child process opens the engine,
// gets updates acknowledged and dies without shutdown (_exit, SIGKILL); the
// parent reopens the state and checks that every acknowledged update is
// merged exactly once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <thread>

#include <catch2/catch.hpp>

#include "engine_test_support.hpp"
#include "server/store/store.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

constexpr const char* kWide = "mlp:64-16";  // 1040 parameters: room for one-hot deltas

std::vector<float> one_hot(size_t i) {
  auto d = filled(0.0f, kWide);
  d[i] = 1.0f;
  return d;
}

EngineOptions wide_options(const std::string& dir, std::shared_ptr<FakeClock> clock, int64_t k) {
  auto o = small_options(dir, std::move(clock));
  o.model_init = kWide;
  o.buffer_k = k;
  o.buffer_timeout_s = 1;
  o.fsync_full = true;
  return o;
}

std::vector<float> checkpoint_params(server::Store& store, int64_t version) {
  auto ck = store.versions().checkpoint(version);
  REQUIRE(ck.is_ok());
  REQUIRE(ck->has_value());
  return decode_model(as_span(**ck)).value().model.params;
}

}  // namespace

TEST_CASE("acknowledged updates survive a crash before merging and are replayed once", "[unit][engine][crash]") {
  TempDir dir;
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto e = Engine::open(wide_options(dir.path(), std::make_shared<FakeClock>(), 100), nullptr);
    int acked = 0;
    for (int i = 0; e.is_ok() && i < 5; ++i) {
      const std::string agent = "agent-" + std::to_string(i);
      acked += (*e)->submit_update(agent, as_span(make_update(agent, "u", 0, 1 + i, 0.5, one_hot(i), kWide))).is_ok();
    }
    ::_exit(acked == 5 ? 0 : 1);  // no shutdown, no destructors: a crash
  }
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  REQUIRE(WIFEXITED(wstatus));
  REQUIRE(WEXITSTATUS(wstatus) == 0);

  auto clock = std::make_shared<FakeClock>();
  auto e = Engine::open(wide_options(dir.path(), clock, 100), nullptr);
  REQUIRE(e.is_ok());
  const auto v0 = params_of((*e)->current_model());
  CHECK((*e)->status().updates_accepted == 5);
  CHECK((*e)->status().updates_merged == 0);
  // A retry after the crash is still recognised.
  auto again = (*e)->submit_update("agent-2", as_span(make_update("agent-2", "u", 0, 3, 0.5, one_hot(2), kWide)));
  REQUIRE(again.is_ok());
  CHECK(again->duplicate);
  clock->advance_s(2);  // buffer timeout: merge the replayed buffer
  REQUIRE(wait_version(**e, 1));
  const auto v1 = params_of((*e)->current_model());
  // weights 1..5, total 15: coordinate i moves by (i + 1) / 15.
  for (size_t i = 0; i < 5; ++i) CHECK(v1[i] - v0[i] == Approx((i + 1) / 15.0).margin(1e-6));
  for (size_t i = 5; i < v0.size(); ++i) CHECK(v1[i] == v0[i]);
  CHECK((*e)->status().history.back().updates == 5);
  CHECK((*e)->status().updates_merged == 5);
}

TEST_CASE("SIGKILL during concurrent submits loses no acknowledged update, merges none twice",
          "[unit][engine][crash]") {
  TempDir dir;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    auto e = Engine::open(wide_options(dir.path(), std::make_shared<FakeClock>(), 3), nullptr);
    if (!e.is_ok()) ::_exit(1);
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = next++; i < 1000; i = next++) {
          const std::string agent = "agent-" + std::to_string(i % 7);
          const int64_t base = (*e)->current_model().version;
          auto body = make_update(agent, "u" + std::to_string(i), base, 1, 0.5, one_hot(i), kWide);
          if ((*e)->submit_update(agent, as_span(body)).is_ok()) {
            const int32_t acked = i;  // reported only after the ack
            if (::write(fds[1], &acked, sizeof acked) != sizeof acked) ::_exit(2);
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    ::_exit(0);
  }
  ::close(fds[1]);
  std::vector<int32_t> acked;
  int32_t v;
  while (acked.size() < 40 && ::read(fds[0], &v, sizeof v) == sizeof v) acked.push_back(v);
  ::kill(child, SIGKILL);
  while (::read(fds[0], &v, sizeof v) == sizeof v) acked.push_back(v);
  ::close(fds[0]);
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  REQUIRE(acked.size() >= 40);

  // Restart; the buffer timeout flushes whatever was pending.
  auto clock = std::make_shared<FakeClock>();
  {
    auto e = Engine::open(wide_options(dir.path(), clock, 3), nullptr);
    REQUIRE(e.is_ok());
    const int64_t before = (*e)->current_model().version;
    const bool pending = (*e)->status().updates_accepted > (*e)->status().updates_merged;
    clock->advance_s(2);
    if (pending) REQUIRE(wait_version(**e, before + 1));
    CHECK((*e)->status().updates_accepted == (*e)->status().updates_merged);
    (*e)->shutdown();
  }

  auto store = server::Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  auto& s = **store;
  std::map<int64_t, int64_t> updates_in;  // version -> merged update count
  const auto history = s.versions().history(100000);
  REQUIRE(history.is_ok());
  for (const auto& r : *history) updates_in[r.version] = r.num_updates;
  const auto init = checkpoint_params(s, 0);
  const auto last = checkpoint_params(s, updates_in.rbegin()->first);
  std::vector<float> expected_step(init.size(), 0.0f);
  int64_t rows = 0;
  for (int i = 0; i < 1000; ++i) {
    auto row = s.ledger().find("agent-" + std::to_string(i % 7), "u" + std::to_string(i));
    REQUIRE(row.is_ok());
    if (!row->has_value()) continue;
    ++rows;
    REQUIRE((*row)->consumed_by_version.has_value());
    const int64_t version = *(*row)->consumed_by_version;
    REQUIRE(version >= 1);
    expected_step[i] = 1.0f / static_cast<float>(updates_in[version]);
  }
  // Every acknowledged update is in the ledger...
  for (int32_t i : acked) {
    INFO("update " << i);
    CHECK(s.ledger().find("agent-" + std::to_string(i % 7), "u" + std::to_string(i))->has_value());
  }
  // ...and moved its coordinate by exactly 1 / (size of its version): once.
  for (size_t i = 0; i < init.size(); ++i) {
    INFO("coordinate " << i);
    CHECK(last[i] - init[i] == Approx(expected_step[i]).margin(1e-5));
  }
  int64_t merged = 0;
  for (auto& [version, n] : updates_in) merged += n;
  CHECK(merged == rows);
}
