// A failing transaction must fail the whole batch with a retryable error,
// leave memory and disk agreeing, and keep every update acknowledged before
// it: first with the database's size cap, then with faults injected through
// the storage seam.
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine_test_support.hpp"
#include "server/http/api_types.hpp"
#include "server/store/read_only_store.hpp"
#include "server/store/store.hpp"
#include "sqlite_fault_env.hpp"

using namespace edgefed;
using namespace edgefed::testing;

TEST_CASE("a failed transaction fails its calls and keeps the engine consistent", "[unit][engine][fault]") {
  TempDir dir;
  const std::string spec = "mlp:784-128-10";  // 407 KB per f32 update: the cap is reached fast
  auto o = small_options(dir.path(), std::make_shared<FakeClock>());
  o.model_init = spec;
  o.buffer_k = 100;
  o.max_db_mb = 3;
  o.spool_mb = 0;  // the bodies fill the database (the spool's own limit: spool_test.cpp)
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
    CHECK(failure.code() == Code::kUnavailable);  // like a full disk: 503, retryable
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

// ---- Faults injected through the storage seam (EngineOptions::store_vfs) ----
//
// The engine runs against the real store on real files; the fault VFS
// (tests/support/sqlite_fault_env.hpp) fails every fsync, or every write
// (a full disk), from a chosen moment until cleared.

namespace {

void arm(SqliteFaultEnv& env, const std::string& fault) {
  if (fault == "fsync") {
    env.fail_syncs(-1);
  } else {
    env.disk_full_after(0);
  }
}

// What the HTTP layer answers for an engine error: 503, Retry-After, and the
// JSON error body.
void check_http_503(const Status& st) {
  const auto r = server::http::ApiResponse::error(st);
  CHECK(r.status == 503);
  bool retry_after = false;
  for (const auto& [k, v] : r.headers) retry_after |= k == "Retry-After" && !v.empty();
  CHECK(retry_after);
  REQUIRE(r.body);
  const auto j = nlohmann::json::parse(*r.body);
  CHECK(j["error"]["code"] == "unavailable");
  CHECK(!j["error"]["message"].get<std::string>().empty());
}

EngineOptions fault_options(const std::string& dir, const SqliteFaultEnv& env, bool pipeline = false) {
  auto o = small_options(dir, std::make_shared<FakeClock>());
  o.fsync_full = true;  // every commit is fsynced: the fsync fault hits commits
  // Without the pipeline the fsync is inside each commit and a failed one
  // rolls the transaction back; the pipelined case has its own test below.
  o.fsync_pipeline = pipeline;
  o.store_vfs = env.vfs_name();
  return o;
}

std::string update(const std::string& id, int64_t base = 0) {
  return make_update("a", id, base, 1, 0.5, filled(1.0f));
}

}  // namespace

TEST_CASE("fsync failure or full disk while committing an update: 503, nothing acknowledged lost, "
          "accepted once the fault clears", "[unit][engine][fault]") {
  const std::string fault = GENERATE(as<std::string>{}, "fsync", "disk_full");
  INFO(fault);
  SqliteFaultEnv env;  // outlives every connection through it
  TempDir dir;
  auto o = fault_options(dir.path(), env);
  o.buffer_k = 100;  // no version commit here
  {
    auto e = Engine::open(o, nullptr).value();
    for (const char* id : {"u0", "u1", "u2"}) REQUIRE(e->submit_update("a", as_span(update(id))).is_ok());
    arm(env, fault);
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto refused = e->submit_update("a", as_span(update("u3")));
      REQUIRE(!refused.is_ok());
      CHECK(refused.status().code() == Code::kUnavailable);
      check_http_503(refused.status());
    }
    CHECK(env.failed_syncs() + env.failed_writes() >= 2);
    // Still serving: ready, the model readable, the acknowledged updates
    // counted and recognised as duplicates (reads need no writes).
    CHECK(e->ready());
    CHECK(e->current_model().version == 0);
    CHECK(e->status().updates_accepted == 3);
    auto dup = e->submit_update("a", as_span(update("u1")));
    REQUIRE(dup.is_ok());
    CHECK(dup->duplicate);
    // What is durable, seen by another connection while the fault lasts.
    {
      auto view = server::ReadOnlyStore::open(server::Store::database_path(dir.path()));
      REQUIRE(view.is_ok());
      CHECK(*(*view)->update_ids_of("a") == std::vector<std::string>{"u0", "u1", "u2"});
    }
    env.clear();
    auto retry = e->submit_update("a", as_span(update("u3")));
    REQUIRE(retry.is_ok());
    CHECK(!retry->duplicate);
    CHECK(e->status().updates_accepted == 4);
    e->shutdown();
  }
  // Reopen the store: every acknowledged update is in the ledger.
  auto store = server::Store::open(dir.path());
  REQUIRE(store.is_ok());
  CHECK(*(*store)->ledger().count_accepted() == 4);
  for (const char* id : {"u0", "u1", "u2", "u3"}) {
    INFO(id);
    CHECK((*store)->ledger().find("a", id)->has_value());
  }
}

TEST_CASE("fsync failure or full disk while committing a version: the previous version stays served, "
          "the next commit succeeds", "[unit][engine][fault]") {
  const std::string fault = GENERATE(as<std::string>{}, "fsync", "disk_full");
  INFO(fault);
  SqliteFaultEnv env;
  TempDir dir;
  auto o = fault_options(dir.path(), env);
  o.buffer_k = 2;  // the second update closes version 1, in its transaction
  {
    auto e = Engine::open(o, nullptr).value();
    const auto v0 = e->current_model();
    REQUIRE(e->submit_update("a", as_span(update("u0"))).is_ok());
    arm(env, fault);
    auto refused = e->submit_update("a", as_span(update("u1")));
    REQUIRE(!refused.is_ok());
    CHECK(refused.status().code() == Code::kUnavailable);
    check_http_503(refused.status());
    // An admin version commit fails the same way.
    const Status rollback = e->rollback(0);
    CHECK(rollback.code() == Code::kUnavailable);
    // Version 0 is still the one served, byte for byte, and u0 still pending.
    CHECK(e->ready());
    CHECK(e->current_model().version == 0);
    CHECK(*e->current_model().bytes == *v0.bytes);
    CHECK(e->status().updates_accepted == 1);
    CHECK(e->status().history.size() == 1);
    env.clear();
    auto ok = e->submit_update("a", as_span(update("u1")));
    REQUIRE(ok.is_ok());
    CHECK(!ok->duplicate);
    CHECK(e->current_model().version == 1);
    CHECK(e->status().history.back().updates == 2);
    e->shutdown();
  }
  // Reopen: version 1 is the newest and holds both acknowledged updates.
  auto store = server::Store::open(dir.path());
  REQUIRE(store.is_ok());
  auto newest = (*store)->versions().newest();
  REQUIRE(newest.is_ok());
  REQUIRE(newest->has_value());
  CHECK((*newest)->version == 1);
  auto merged = (*store)->ledger().merged_into(1);
  REQUIRE(merged.is_ok());
  REQUIRE(merged->size() == 2);
  CHECK((*merged)[0].update_id == "u0");
  CHECK((*merged)[1].update_id == "u1");
}

TEST_CASE("pipelined group commit: answers wait for the fsync; a failed one refuses every write until restart, "
          "and nothing acknowledged is lost", "[unit][engine][fault]") {
  SqliteFaultEnv env;
  TempDir dir;
  auto o = fault_options(dir.path(), env, /*pipeline=*/true);
  o.buffer_k = 3;  // the third update closes version 1
  {
    auto registry = std::make_shared<prometheus::Registry>();
    auto fsync_failed = [&] {
      const std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
      const auto pos = text.find("\nedgefed_store_fsync_failed ");
      REQUIRE(pos != std::string::npos);
      return std::stod(text.substr(pos + 28));
    };
    auto e = Engine::open(o, registry).value();
    const int64_t syncs_before = env.syncs();
    for (const char* id : {"u0", "u1"}) REQUIRE(e->submit_update("a", as_span(update(id))).is_ok());
    // Each answer came after an fsync of its commit (on the fsync thread).
    CHECK(env.syncs() >= syncs_before + 2);
    // A full disk fails inside the transaction: rolled back, retryable, as
    // without the pipeline.
    env.disk_full_after(0);
    auto full = e->submit_update("a", as_span(update("u2")));
    REQUIRE(!full.is_ok());
    check_http_503(full.status());
    env.clear();
    CHECK(e->ready());
    CHECK(e->status().updates_accepted == 2);
    CHECK(fsync_failed() == 0);
    // A failed fsync: the commit that closes version 1 is done and cannot be
    // rolled back, so it is neither answered nor published...
    env.fail_syncs(-1);
    auto unsynced = e->submit_update("a", as_span(update("u2")));
    REQUIRE(!unsynced.is_ok());
    check_http_503(unsynced.status());
    CHECK(unsynced.status().message().find("restart") != std::string::npos);
    CHECK(e->current_model().version == 0);
    CHECK(e->status().updates_accepted == 2);
    // ... and the engine writes nothing more, even once the disk recovers;
    // the metric an alert watches says so.
    env.clear();
    CHECK(!e->ready());
    CHECK(fsync_failed() == 1);
    auto after = e->submit_update("a", as_span(update("u3")));
    REQUIRE(!after.is_ok());
    CHECK(after.status().code() == Code::kUnavailable);
    e->shutdown();
  }
  // The restart recovers from what is on the disk: the two acknowledged
  // updates are there; u2 was never acknowledged, and its retry is either
  // merged now or recognised (its commit reached the disk after all).
  auto e = Engine::open(o, nullptr).value();
  CHECK(e->ready());
  auto retry = e->submit_update("a", as_span(update("u2")));
  REQUIRE(retry.is_ok());
  CHECK(e->current_model().version == 1);
  const auto history = e->status().history;
  REQUIRE(history.size() == 2);
  CHECK(history.back().updates == 3);
  for (const char* id : {"u0", "u1"}) {
    auto dup = e->submit_update("a", as_span(update(id)));
    REQUIRE(dup.is_ok());
    CHECK(dup->duplicate);
  }
  e->shutdown();
}
