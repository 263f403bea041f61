// WalCheckpointer (server/store/wal_checkpointer.hpp): the log is copied to
// the database file by a background connection, the writer only catches up
// the last few frames, and the log starts over, so it stays short; with the
// background kept out, the writer's hard limit still bounds it.
#include "server/store/wal_checkpointer.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "temp_dir.hpp"

using edgefed::server::WalCheckpointer;
using edgefed::sqlite::Database;

namespace {

constexpr int kCommits = 400;
constexpr int kBlobBytes = 16 * 1024;  // 4+ frames of 4 KiB per commit

std::unique_ptr<Database> open_wal(const std::string& path) {
  auto db = Database::open(path);
  REQUIRE(db.is_ok());
  REQUIRE((*db)->enable_wal().is_ok());
  REQUIRE((*db)->exec("PRAGMA synchronous=NORMAL; CREATE TABLE IF NOT EXISTS t(x BLOB)").is_ok());
  return std::move(db).value();
}

void commit_rows(Database& db, int n) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(db.begin().is_ok());
    REQUIRE(db.exec("INSERT INTO t(x) VALUES (randomblob(" + std::to_string(kBlobBytes) + "))").is_ok());
    REQUIRE(db.commit().is_ok());
  }
}

int64_t rows(const std::string& path) {
  auto db = Database::open(path);
  REQUIRE(db.is_ok());
  auto n = (*db)->query_int("SELECT count(*) FROM t");
  REQUIRE(n.is_ok());
  return *n;
}

}  // namespace

TEST_CASE("WalCheckpointer copies the log in the background and the log starts over", "[wal_checkpointer]") {
  edgefed::testing::TempDir dir;
  const std::string path = dir.path() + "/db.sqlite";
  auto db = open_wal(path);
  {
    auto c = WalCheckpointer::start(*db, path, {}, {.soft_frames = 50, .hard_frames = 1000000});
    REQUIRE(c.is_ok());
    // Commit in rounds until a background pass was caught up by the writer
    // (bounded: a few seconds at most on a slow disk).
    int committed = 0;
    for (int round = 0; round < 200 && ((*c)->catch_ups() == 0 || committed < kCommits); ++round) {
      commit_rows(*db, 20);
      committed += 20;
      if ((*c)->background_passes() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK((*c)->background_passes() > 0);
    CHECK((*c)->catch_ups() > 0);
    CHECK((*c)->inline_checkpoints() == 0);  // the hard limit was never needed
    // Some 6+ MB went through the log; it started over instead of growing:
    // never much past the soft limit plus what a pass let through.
    const auto wal_bytes = std::filesystem::file_size(path + "-wal");
    CHECK(wal_bytes < static_cast<uintmax_t>(committed) * kBlobBytes / 3);
    CHECK(rows(path) == committed);
  }
  // Stopped: SQLite's own checkpoint is back, commits go on.
  commit_rows(*db, 10);
  auto copied = db->checkpoint();
  REQUIRE(copied.is_ok());
  CHECK(copied->copied_frames == copied->log_frames);
}

TEST_CASE("WalCheckpointer's hard limit checkpoints inline when the background does not", "[wal_checkpointer]") {
  edgefed::testing::TempDir dir;
  const std::string path = dir.path() + "/db.sqlite";
  auto db = open_wal(path);
  auto c = WalCheckpointer::start(*db, path, {}, {.soft_frames = 1 << 30, .hard_frames = 60});
  REQUIRE(c.is_ok());
  commit_rows(*db, kCommits);
  CHECK((*c)->background_passes() == 0);
  CHECK((*c)->inline_checkpoints() > 0);
  CHECK(std::filesystem::file_size(path + "-wal") < uintmax_t{kCommits} * kBlobBytes / 3);
  CHECK(rows(path) == kCommits);
}
