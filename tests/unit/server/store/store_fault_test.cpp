// The store under storage faults injected through its seam (StoreOptions::vfs
// and the fault VFS of tests/support): a commit that cannot be made durable
// fails with kUnavailable and leaves no trace; what was committed before
// stays; the store accepts writes again once the fault clears. And the
// read-only view the simulator uses.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <thread>

#include "server/store/read_only_store.hpp"
#include "server/store/store.hpp"
#include "sqlite_fault_env.hpp"
#include "temp_dir.hpp"

using namespace edgefed::server;
using edgefed::Code;
using edgefed::Status;

namespace {

LedgerEntry entry(const std::string& id) {
  LedgerEntry e;
  e.agent = "a";
  e.update_id = id;
  e.body_digest = "h-" + id;
  e.num_samples = 10;
  e.weight = 1;
  e.ack_json = R"({"version":0})";
  return e;
}

const std::string kBody(200000, 'b');  // several 64 KiB pages, as an update body

std::span<const uint8_t> body() { return {reinterpret_cast<const uint8_t*>(kBody.data()), kBody.size()}; }

Status insert_committed(Store& s, const std::string& id) {
  EDGEFED_RETURN_IF_ERROR(s.db().begin());
  auto r = s.ledger().insert(entry(id), body());
  Status st = r.is_ok() ? s.db().commit() : r.status();
  if (!st.is_ok()) s.db().rollback();
  return st;
}

}  // namespace

TEST_CASE("store: failed fsync or full disk at commit: kUnavailable, nothing lost, writable after",
          "[unit][store][fault]") {
  const std::string fault = GENERATE(as<std::string>{}, "fsync", "disk_full");
  INFO(fault);
  edgefed::testing::TempDir dir;
  edgefed::testing::SqliteFaultEnv env;
  {
    auto store = Store::open(dir.path(), {.fsync_full = true, .vfs = env.vfs_name()});
    REQUIRE(store.is_ok());
    Store& s = **store;
    REQUIRE(insert_committed(s, "u1").is_ok());
    REQUIRE(insert_committed(s, "u2").is_ok());
    if (fault == "fsync") {
      env.fail_syncs(-1);
    } else {
      env.disk_full_after(kBody.size() / 2);  // half a body still fits
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
      const Status st = insert_committed(s, "u3");
      CHECK(st.code() == Code::kUnavailable);
    }
    CHECK(env.failed_syncs() + env.failed_writes() >= 3);
    CHECK(!s.db().in_transaction());
    // Reads keep working, and see exactly the committed rows.
    CHECK(*s.ledger().count_accepted() == 2);
    CHECK(!s.ledger().find("a", "u3")->has_value());
    // Another connection (the simulator's view) agrees.
    auto view = ReadOnlyStore::open(Store::database_path(dir.path()));
    REQUIRE(view.is_ok());
    CHECK(*(*view)->update_ids_of("a") == std::vector<std::string>{"u1", "u2"});
    env.clear();
    REQUIRE(insert_committed(s, "u3").is_ok());
  }
  auto reopened = Store::open(dir.path(), {.fsync_full = true});
  REQUIRE(reopened.is_ok());
  CHECK(*(*reopened)->ledger().count_accepted() == 3);
  for (const char* id : {"u1", "u2", "u3"}) CHECK((*reopened)->ledger().find("a", id)->has_value());
}

TEST_CASE("store with deferred sync: commits do not fsync, sync_committed() does, and reports a failed fsync",
          "[unit][store][fault]") {
  edgefed::testing::TempDir dir;
  edgefed::testing::SqliteFaultEnv env;
  auto store = Store::open(dir.path(), {.fsync_full = true, .defer_sync = true, .vfs = env.vfs_name()});
  REQUIRE(store.is_ok());
  Store& s = **store;
  CHECK(s.defers_sync());
  // synchronous=NORMAL: a commit writes the WAL but does not fsync it, so
  // it succeeds while every fsync fails...
  env.fail_syncs(-1);
  REQUIRE(insert_committed(s, "u1").is_ok());
  CHECK(env.failed_syncs() == 0);
  // ... and the sync that would make it durable reports the failure.
  const Status failed = s.sync_committed();
  CHECK(failed.code() == Code::kUnavailable);
  CHECK(failed.message().find("write-ahead log") != std::string::npos);
  CHECK(env.failed_syncs() == 1);
  env.clear();
  // From another thread, as the engine's fsync thread calls it, while this
  // one goes on committing.
  Status from_thread;
  std::thread syncer([&] { from_thread = s.sync_committed(); });
  REQUIRE(insert_committed(s, "u2").is_ok());
  syncer.join();
  CHECK(from_thread.is_ok());
  CHECK(s.sync_committed().is_ok());
  CHECK(*s.ledger().count_accepted() == 2);
  // Without fsync_full there is nothing to defer: commits are NORMAL anyway.
  edgefed::testing::TempDir other;
  auto normal = Store::open(other.path(), {.fsync_full = false, .defer_sync = true});
  REQUIRE(normal.is_ok());
  CHECK(!(*normal)->defers_sync());
}

TEST_CASE("store: the size cap fails a commit like a full disk (503, retryable)", "[unit][store][fault]") {
  edgefed::testing::TempDir dir;
  // 2 MiB: the empty schema alone takes 15-20 of its 64 KiB pages.
  auto store = Store::open(dir.path(), {.fsync_full = false, .max_bytes = 2 << 20});
  REQUIRE(store.is_ok());
  Status st;
  int committed = 0;
  for (int i = 0; i < 20 && st.is_ok(); ++i) {
    st = insert_committed(**store, std::to_string(i));
    if (st.is_ok()) ++committed;
  }
  CHECK(st.code() == Code::kUnavailable);
  CHECK(committed >= 1);
  CHECK(*(*store)->ledger().count_accepted() == committed);
}

TEST_CASE("read-only store: reads ledger, telemetry and checkpoints; never creates a file",
          "[unit][store]") {
  edgefed::testing::TempDir dir;
  {
    auto store = Store::open(dir.path(), {.fsync_full = false});
    REQUIRE(store.is_ok());
    Store& s = **store;
    REQUIRE(insert_committed(s, "u1").is_ok());
    REQUIRE(insert_committed(s, "u2").is_ok());
    VersionRecord v;
    v.version = 1;
    v.kind = "merge";
    v.num_updates = 2;
    const std::string ck = "checkpoint-bytes";
    REQUIRE(s.versions().insert(v, {reinterpret_cast<const uint8_t*>(ck.data()), ck.size()}).is_ok());
    REQUIRE(*s.ledger().consume_pending(1) == 2);
    edgefed::TelemetryRecord r;
    r.seq = 4;
    REQUIRE(*s.telemetry().insert("a", r));
  }
  auto view = ReadOnlyStore::open(Store::database_path(dir.path()));
  REQUIRE(view.is_ok());
  ReadOnlyStore& ro = **view;
  CHECK(*ro.updates_merged() == 2);
  CHECK(*ro.samples_merged() == 20);
  CHECK(*ro.updates_claimed_by_versions() == 2);
  CHECK(*ro.telemetry_seqs_of("a") == std::vector<int64_t>{4});
  CHECK(ro.telemetry_seqs_of("b")->empty());
  CHECK(**ro.checkpoint(1) == "checkpoint-bytes");
  CHECK(!ro.checkpoint(2)->has_value());

  const std::string missing = dir.path() + "/missing.sqlite";
  CHECK(ReadOnlyStore::open(missing).status().code() == Code::kIo);
  struct stat st {};
  CHECK(::stat(missing.c_str(), &st) != 0);
}
