// StoredSessionSink against real files: snapshots survive a reopen, a save
// that cannot be made durable (failed fsync, full disk, injected through the
// store's VFS seam) fails with kUnavailable and leaves the previous
// snapshot, concurrent callers and a second writer connection are
// serialised, and a SecAggCoordinator stores through it what
// ServerRound::restore takes back.
#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../store/temp_dir.hpp"
#include "edgefed/clock.hpp"
#include "edgefed/secagg/client_round.hpp"
#include "edgefed/secagg/server_round.hpp"
#include "server/secagg/secagg_coordinator.hpp"
#include "server/secagg/stored_session_sink.hpp"
#include "server/store/store.hpp"
#include "sqlite_fault_env.hpp"

// Named, not anonymous: the test units of a binary may be built as one
// (EDGEFED_TEST_UNITY), next to secagg_coordinator_test.cpp's helpers.
namespace stored_session_sink_test {

using edgefed::server::SecAggSessionRow;
using edgefed::server::StoredSessionSink;

std::vector<uint8_t> blob(const std::string& s) { return {s.begin(), s.end()}; }

std::unique_ptr<StoredSessionSink> open_sink(const std::string& dir, const edgefed::Clock& clock,
                                             const std::string& vfs = "") {
  auto sink = StoredSessionSink::open(dir, {.fsync_full = true, .vfs = vfs}, clock);
  REQUIRE(sink.is_ok());
  return std::move(sink).value();
}

std::vector<SecAggSessionRow> rows_of(StoredSessionSink& sink) {
  auto rows = sink.list();
  REQUIRE(rows.is_ok());
  return std::move(rows).value();
}

const SecAggSessionRow* row_for(const std::vector<SecAggSessionRow>& rows, const std::string& session) {
  for (const auto& r : rows) {
    if (r.session == session) return &r;
  }
  return nullptr;
}

edgefed::secagg::Key32 seed(uint8_t b) {
  edgefed::secagg::Key32 k{};
  k.fill(b);
  return k;
}

}  // namespace stored_session_sink_test

namespace sss = stored_session_sink_test;

TEST_CASE("stored session sink: save, put_info, erase and list across a reopen", "[unit][secagg][store]") {
  edgefed::testing::TempDir dir;
  edgefed::FakeClock clock(1'000);
  {
    auto sink = sss::open_sink(dir.path(), clock);
    REQUIRE(sink->save("r1", sss::blob("r1-a")).is_ok());
    REQUIRE(sink->save("r2", sss::blob("r2-a")).is_ok());
    clock.advance_ms(5);
    REQUIRE(sink->put_info("r1", R"({"round":1})").is_ok());
    REQUIRE(sink->save("r1", sss::blob("r1-b")).is_ok());
    REQUIRE(sink->save("r3", sss::blob("r3-a")).is_ok());
    REQUIRE(sink->erase("r3").is_ok());
    CHECK(sink->erase("absent").is_ok());
  }
  auto sink = sss::open_sink(dir.path(), clock);
  const auto rows = sss::rows_of(*sink);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].session == "r1");
  CHECK(rows[0].info == R"({"round":1})");
  CHECK(rows[0].snapshot == sss::blob("r1-b"));
  CHECK(rows[0].updated_unix_ms == 1'005);
  CHECK(rows[1].session == "r2");
  CHECK(rows[1].info == "{}");
  CHECK(rows[1].snapshot == sss::blob("r2-a"));
  CHECK(rows[1].updated_unix_ms == 1'000);
  REQUIRE(sink->erase("r1").is_ok());
  CHECK(sss::rows_of(*sink).size() == 1);
}

TEST_CASE("stored session sink: a save that cannot be made durable fails and keeps the previous snapshot",
          "[unit][secagg][store][fault]") {
  const std::string fault = GENERATE(as<std::string>{}, "fsync", "disk_full");
  INFO(fault);
  edgefed::testing::TempDir dir;
  edgefed::testing::SqliteFaultEnv env;
  edgefed::FakeClock clock;
  const std::string before(150000, 'o');  // several 64 KiB pages, as a real running sum
  const std::string after(150000, 'n');
  {
    auto sink = sss::open_sink(dir.path(), clock, env.vfs_name());
    REQUIRE(sink->save("r1", sss::blob(before)).is_ok());
    REQUIRE(sink->save("r2", sss::blob("r2")).is_ok());
    if (fault == "fsync") {
      env.fail_syncs(-1);
    } else {
      env.disk_full_after(0);
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      const edgefed::Status st = sink->save("r1", sss::blob(after));
      INFO(st.to_string());
      CHECK(st.code() == edgefed::Code::kUnavailable);
    }
    CHECK(sink->save("r9", sss::blob("new")).code() == edgefed::Code::kUnavailable);
    CHECK(env.failed_syncs() + env.failed_writes() >= 3);
    // The same connection reads only what was committed.
    auto rows = sss::rows_of(*sink);
    REQUIRE(rows.size() == 2);
    CHECK(sss::row_for(rows, "r1")->snapshot == sss::blob(before));
    env.clear();
  }
  {
    auto sink = sss::open_sink(dir.path(), clock, env.vfs_name());
    auto rows = sss::rows_of(*sink);
    REQUIRE(rows.size() == 2);
    REQUIRE(sss::row_for(rows, "r1") != nullptr);
    CHECK(sss::row_for(rows, "r1")->snapshot == sss::blob(before));
    CHECK(sss::row_for(rows, "r2")->snapshot == sss::blob("r2"));
    CHECK(sss::row_for(rows, "r9") == nullptr);
    // Once the fault is gone the same save succeeds.
    REQUIRE(sink->save("r1", sss::blob(after)).is_ok());
  }
  auto sink = sss::open_sink(dir.path(), clock);
  CHECK(sss::row_for(sss::rows_of(*sink), "r1")->snapshot == sss::blob(after));
}

TEST_CASE("stored session sink: 4 threads and the engine's own connection write concurrently",
          "[unit][secagg][store]") {
  edgefed::testing::TempDir dir;
  edgefed::FakeClock clock;
  auto sink = sss::open_sink(dir.path(), clock);
  // The engine's connection on the same file, writing info while the sink
  // saves snapshots: SQLite's locks serialise the two writers.
  auto engine = edgefed::server::Store::open(dir.path(), {.fsync_full = true});
  REQUIRE(engine.is_ok());
  constexpr int kThreads = 4;
  constexpr int kSaves = 20;
  std::vector<std::vector<edgefed::Status>> failures(kThreads + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kSaves; ++j) {
        const auto b = sss::blob("t" + std::to_string(i) + "-" + std::to_string(j) + std::string(1000, 'x'));
        if (edgefed::Status st = sink->save("t" + std::to_string(i), b); !st.is_ok()) failures[i].push_back(st);
      }
    });
  }
  threads.emplace_back([&] {
    edgefed::server::Store& s = **engine;
    for (int j = 0; j < kSaves; ++j) {
      edgefed::Status st = s.db().begin();
      if (st.is_ok()) st = s.secagg_sessions().put_info("t0", R"({"n":)" + std::to_string(j) + "}", 1);
      if (st.is_ok()) st = s.db().commit();
      if (!st.is_ok()) {
        s.db().rollback();
        failures[kThreads].push_back(st);
      }
    }
  });
  for (auto& t : threads) t.join();
  for (const auto& f : failures) {
    for (const auto& st : f) FAIL_CHECK(st.to_string());
  }
  const auto rows = sss::rows_of(*sink);
  REQUIRE(rows.size() == kThreads);
  for (int i = 0; i < kThreads; ++i) {
    INFO(i);
    CHECK(rows[static_cast<size_t>(i)].session == "t" + std::to_string(i));
    CHECK(rows[static_cast<size_t>(i)].snapshot ==
          sss::blob("t" + std::to_string(i) + "-" + std::to_string(kSaves - 1) + std::string(1000, 'x')));
  }
  CHECK(rows[0].info == R"({"n":19})");
}

TEST_CASE("stored session sink: a coordinator's saved session restores, and forget erases it", "[unit][secagg][store]") {
  namespace sa = edgefed::secagg;
  using edgefed::server::SecAggCoordinator;
  edgefed::testing::TempDir dir;
  edgefed::FakeClock clock;
  const std::string session = "r42";
  std::vector<sa::AgentId> ids;
  {
    auto sink = sss::open_sink(dir.path(), clock);
    SecAggCoordinator c({}, clock, *sink, sa::deterministic_random(sss::seed(9)));
    REQUIRE(c.open(session, 64, 5).is_ok());
    auto rows = sss::rows_of(*sink);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].session == session);
    auto opened = sa::ServerRound::restore(rows[0].snapshot);
    REQUIRE(opened.is_ok());
    CHECK(opened->config().session == session);
    CHECK(opened->config().vector_length == 64);
    CHECK(opened->phase() == sa::ServerPhase::kAdvertise);
    // Acknowledged messages are in the stored snapshot.
    for (int i = 0; i < 3; ++i) {
      const std::string name = "agent-" + std::to_string(i);
      auto client = sa::ClientRound::create(session, SecAggCoordinator::agent_id_of(name), 10,
                                            sa::deterministic_random(sss::seed(static_cast<uint8_t>(i + 1))));
      REQUIRE(client.is_ok());
      REQUIRE(c.post(name, client->advertise().to_json()).is_ok());
      ids.push_back(SecAggCoordinator::agent_id_of(name));
    }
  }  // the server stops
  std::sort(ids.begin(), ids.end());
  auto sink = sss::open_sink(dir.path(), clock);
  auto rows = sss::rows_of(*sink);
  REQUIRE(rows.size() == 1);
  auto stored = sa::ServerRound::restore(rows[0].snapshot);
  REQUIRE(stored.is_ok());
  CHECK(stored->advertised() == ids);
  SecAggCoordinator c2({}, clock, *sink, sa::deterministic_random(sss::seed(10)));
  REQUIRE(c2.restore(rows[0].snapshot, 5).is_ok());
  CHECK(c2.open_sessions() == std::vector<std::string>{session});
  REQUIRE(c2.forget(session).is_ok());
  CHECK(sss::rows_of(*sink).empty());
}
