// The outbox's secure aggregation round (table secagg_rounds,
// SecAggRoundStore): one round at a time, stored, its snapshot replaced,
// read back bit for bit (also after a reopen), ended and counted in the
// journal; refusals and storage faults change nothing.
#include <sys/stat.h>

#include <sqlite3.h>

#include <cmath>
#include <cstring>
#include <limits>

#include <catch2/catch.hpp>

#include "agent/outbox/outbox.hpp"
#include "scratch_dir.hpp"
#include "sqlite_fault_env.hpp"

namespace edgefed::agent::secagg_round_test {

// A fault VFS needs full_sync: with synchronous=NORMAL a WAL commit does not sync.
std::unique_ptr<Outbox> open_box(const std::string& path, const std::string& vfs = "") {
  auto box = Outbox::open({.path = path, .full_sync = !vfs.empty(), .vfs = vfs});
  REQUIRE(box.is_ok());
  return std::move(*box);
}

SecAggRound make_round(const std::string& session, int64_t base = 3) {
  SecAggRound r;
  r.session = session;
  r.base_version = base;
  r.num_samples = 72;
  r.train_loss = 0.625;
  r.snapshot = {1, 2, 3, 0, 255, 7};
  // Values whose bits a sloppy encoding would change.
  r.delta = {0.5f, -0.0f, -1.25e-3f, std::numeric_limits<float>::denorm_min(), 3.4e38f, -7.0f};
  r.created_unix_ms = 1700000000123;
  return r;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_CASE("outbox secagg round: store, replace the snapshot, read, end, one at a time", "[unit][outbox]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_box(dir.file("outbox.db"));
  auto none = box->secagg_round();
  REQUIRE(none.is_ok());
  CHECK_FALSE(none->has_value());

  const SecAggRound r = make_round("v3-00ff");
  REQUIRE(box->store_secagg_round(r).is_ok());
  auto read = box->secagg_round();
  REQUIRE(read.is_ok());
  REQUIRE(read->has_value());
  const SecAggRound& got = **read;
  CHECK(got.session == r.session);
  CHECK(got.base_version == 3);
  CHECK(got.num_samples == 72);
  CHECK(got.train_loss == 0.625);
  CHECK(got.snapshot == r.snapshot);
  CHECK(same_bits(got.delta, r.delta));
  CHECK(got.created_unix_ms == r.created_unix_ms);

  // A second round while the first is stored is refused and changes nothing.
  const Status second = box->store_secagg_round(make_round("v3-0100"));
  CHECK(second.code() == Code::kConflict);
  CHECK(second.message().find("v3-00ff") != std::string::npos);
  CHECK((*box->secagg_round())->session == "v3-00ff");

  const std::vector<uint8_t> next = {9, 9, 9};
  REQUIRE(box->replace_secagg_snapshot("v3-00ff", next).is_ok());
  CHECK((*box->secagg_round())->snapshot == next);
  CHECK(same_bits((*box->secagg_round())->delta, r.delta));
  CHECK(box->replace_secagg_snapshot("v3-0100", next).code() == Code::kNotFound);

  auto j = box->journal();
  CHECK(j->secagg_rounds_created == 1);
  CHECK(j->secagg_rounds_done == 0);

  REQUIRE(box->end_secagg_round("v3-00ff", SecAggEnd::kDone, "done: merged as version 4", 50).is_ok());
  CHECK_FALSE(box->secagg_round()->has_value());
  // Ending it again (a retried step) counts nothing.
  REQUIRE(box->end_secagg_round("v3-00ff", SecAggEnd::kAborted, "again", 51).is_ok());
  CHECK(box->replace_secagg_snapshot("v3-00ff", next).code() == Code::kNotFound);

  // The slot is free again; the next round may abort.
  REQUIRE(box->store_secagg_round(make_round("v4-0001", 4)).is_ok());
  REQUIRE(box->end_secagg_round("v4-0001", SecAggEnd::kAborted, "excluded: phase shares", 60).is_ok());
  j = box->journal();
  CHECK(j->secagg_rounds_created == 2);
  CHECK(j->secagg_rounds_done == 1);
  CHECK(j->secagg_rounds_aborted == 1);
  // Secure aggregation rounds are not updates.
  CHECK(j->updates_created == 0);
  CHECK(box->depth()->records() == 0);
  box.reset();

  auto done = Outbox::read_journal(dir.file("outbox.db"), "done");
  REQUIRE(done.is_ok());
  REQUIRE(done->size() == 1);
  CHECK((*done)[0].kind == "secagg_round");
  CHECK((*done)[0].ref == "v3-00ff");
  auto aborted = Outbox::read_journal(dir.file("outbox.db"), "aborted");
  REQUIRE(aborted->size() == 1);
  CHECK((*aborted)[0].ref == "v4-0001");
}

TEST_CASE("outbox secagg round: survives a reopen, in a 0600 file", "[unit][outbox]") {
  edgefed::testing::ScratchDir dir;
  const std::string path = dir.file("outbox.db");
  const SecAggRound r = make_round("v9-abcdef:1");
  {
    auto box = open_box(path);
    REQUIRE(box->store_secagg_round(r).is_ok());
    REQUIRE(box->replace_secagg_snapshot(r.session, std::vector<uint8_t>{4, 5}).is_ok());
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // the snapshot holds key material
  auto box = open_box(path);
  auto read = box->secagg_round();
  REQUIRE(read.is_ok());
  REQUIRE(read->has_value());
  CHECK((*read)->session == r.session);
  CHECK((*read)->snapshot == std::vector<uint8_t>{4, 5});
  CHECK(same_bits((*read)->delta, r.delta));
  CHECK(box->journal()->secagg_rounds_created == 1);
  CHECK(box->store_secagg_round(make_round("v9-other")).code() == Code::kConflict);
}

TEST_CASE("outbox secagg round: bad rounds and unreadable rows are refused", "[unit][outbox]") {
  edgefed::testing::ScratchDir dir;
  const std::string path = dir.file("outbox.db");
  auto box = open_box(path);
  SecAggRound r = make_round("s1");
  r.snapshot.clear();
  CHECK(box->store_secagg_round(r).code() == Code::kInvalidArgument);
  r = make_round("");
  CHECK(box->store_secagg_round(r).code() == Code::kInvalidArgument);
  r = make_round("s1");
  r.num_samples = 0;
  CHECK(box->store_secagg_round(r).code() == Code::kInvalidArgument);
  r = make_round("s1");
  r.train_loss = std::nan("");
  CHECK(box->store_secagg_round(r).code() == Code::kNonFinite);
  CHECK_FALSE(box->secagg_round()->has_value());
  CHECK(box->journal()->secagg_rounds_created == 0);

  // A delta that is not whole float32 values (a damaged file) is kIo, not a crash.
  REQUIRE(box->store_secagg_round(make_round("s1")).is_ok());
  box.reset();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "UPDATE secagg_rounds SET delta = x'0102030405'", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  box = open_box(path);
  CHECK(box->secagg_round().status().code() == Code::kIo);
  // It can still be ended.
  REQUIRE(box->end_secagg_round("s1", SecAggEnd::kAborted, "unreadable", 1).is_ok());
  CHECK(box->journal()->secagg_rounds_aborted == 1);
}

TEST_CASE("outbox secagg round: a failed fsync or full disk changes nothing", "[unit][outbox][fault]") {
  const std::string fault = GENERATE(as<std::string>{}, "fsync", "disk_full");
  INFO(fault);
  edgefed::testing::SqliteFaultEnv env;
  edgefed::testing::ScratchDir dir;
  {
    auto box = open_box(dir.file("outbox.db"), env.vfs_name());
    REQUIRE(box->store_secagg_round(make_round("s1")).is_ok());
    if (fault == "fsync") {
      env.fail_syncs(-1);
    } else {
      env.disk_full_after(0);
    }
    CHECK(box->replace_secagg_snapshot("s1", std::vector<uint8_t>(5000, 7)).code() == Code::kUnavailable);
    CHECK(box->end_secagg_round("s1", SecAggEnd::kDone, "done", 2).code() == Code::kUnavailable);
    env.clear();
    auto read = box->secagg_round();
    REQUIRE(read.is_ok());
    REQUIRE(read->has_value());
    CHECK((*read)->snapshot == make_round("s1").snapshot);
    CHECK(box->journal()->secagg_rounds_done == 0);
    REQUIRE(box->end_secagg_round("s1", SecAggEnd::kDone, "done", 3).is_ok());
    CHECK(box->journal()->secagg_rounds_done == 1);
  }
}

}  // namespace edgefed::agent::secagg_round_test
