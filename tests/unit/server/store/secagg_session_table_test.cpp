// The secagg_sessions table: the two upserts keep each other's column,
// erase is idempotent, list is ordered, rows survive a reopen.
#include <catch2/catch.hpp>
#include <span>
#include <string>
#include <vector>

#include "server/store/store.hpp"
#include "temp_dir.hpp"

using namespace edgefed::server;

// Named, not anonymous: the test units of a binary may be built as one
// (EDGEFED_TEST_UNITY).
namespace secagg_session_table_test {

std::vector<uint8_t> session_bytes(const std::string& s) { return {s.begin(), s.end()}; }

edgefed::Status store_snapshot(Store& s, const std::string& session, const std::string& snapshot, int64_t now) {
  const auto b = session_bytes(snapshot);
  return s.secagg_sessions().put_snapshot(session, b, now);
}

}  // namespace secagg_session_table_test

using secagg_session_table_test::session_bytes;
using secagg_session_table_test::store_snapshot;

TEST_CASE("secagg sessions: put_info and put_snapshot keep each other's column", "[unit][store][secagg]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  Store& s = **store;
  auto& t = s.secagg_sessions();

  REQUIRE(t.put_info("r1", R"({"round":1})", 100).is_ok());
  auto rows = t.list();
  REQUIRE(rows.is_ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].info == R"({"round":1})");
  CHECK((*rows)[0].snapshot.empty());
  CHECK((*rows)[0].updated_unix_ms == 100);

  REQUIRE(store_snapshot(s, "r1", "snap-1", 200).is_ok());
  rows = t.list();
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].info == R"({"round":1})");
  CHECK((*rows)[0].snapshot == session_bytes("snap-1"));
  CHECK((*rows)[0].updated_unix_ms == 200);

  REQUIRE(t.put_info("r1", R"({"round":2})", 300).is_ok());
  rows = t.list();
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].info == R"({"round":2})");
  CHECK((*rows)[0].snapshot == session_bytes("snap-1"));
  CHECK((*rows)[0].updated_unix_ms == 300);
}

TEST_CASE("secagg sessions: put_snapshot creates a missing session with info '{}'", "[unit][store][secagg]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  REQUIRE(store_snapshot(**store, "new", std::string("\0\1\2binary", 9), 42).is_ok());
  auto rows = (*store)->secagg_sessions().list();
  REQUIRE(rows.is_ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].session == "new");
  CHECK((*rows)[0].info == "{}");
  CHECK((*rows)[0].snapshot == session_bytes(std::string("\0\1\2binary", 9)));
  CHECK((*rows)[0].updated_unix_ms == 42);
  // An empty snapshot stays an empty blob, not NULL (the column is NOT NULL).
  REQUIRE(store_snapshot(**store, "new", "", 43).is_ok());
  CHECK((*(*store)->secagg_sessions().list())[0].snapshot.empty());
}

TEST_CASE("secagg sessions: erase of an absent session is ok; list is ordered by session", "[unit][store][secagg]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  Store& s = **store;
  auto& t = s.secagg_sessions();
  CHECK(t.erase("never").is_ok());
  for (const char* id : {"r3", "r1", "r2", "r10"}) REQUIRE(store_snapshot(s, id, std::string("s-") + id, 1).is_ok());
  REQUIRE(t.erase("r2").is_ok());
  CHECK(t.erase("r2").is_ok());
  auto rows = t.list();
  REQUIRE(rows.is_ok());
  std::vector<std::string> ids;
  for (const auto& r : *rows) ids.push_back(r.session);
  CHECK(ids == std::vector<std::string>{"r1", "r10", "r3"});
  CHECK((*rows)[1].snapshot == session_bytes("s-r10"));
}

TEST_CASE("secagg sessions: rows survive closing and reopening the store", "[unit][store][secagg]") {
  edgefed::testing::TempDir dir;
  const std::string big(300000, 'm');  // several 64 KiB pages, as a real running sum
  {
    auto store = Store::open(dir.path(), {.fsync_full = true});
    REQUIRE(store.is_ok());
    Store& s = **store;
    REQUIRE(s.db().begin().is_ok());
    REQUIRE(s.secagg_sessions().put_info("a", R"({"k":1})", 5).is_ok());
    REQUIRE(store_snapshot(s, "a", big, 6).is_ok());
    REQUIRE(store_snapshot(s, "b", "small", 7).is_ok());
    REQUIRE(s.db().commit().is_ok());
    // A rolled back write leaves nothing.
    REQUIRE(s.db().begin().is_ok());
    REQUIRE(store_snapshot(s, "c", "gone", 8).is_ok());
    s.db().rollback();
  }
  auto store = Store::open(dir.path(), {.fsync_full = true});
  REQUIRE(store.is_ok());
  auto rows = (*store)->secagg_sessions().list();
  REQUIRE(rows.is_ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].session == "a");
  CHECK((*rows)[0].info == R"({"k":1})");
  CHECK((*rows)[0].snapshot == session_bytes(big));
  CHECK((*rows)[0].updated_unix_ms == 6);
  CHECK((*rows)[1].session == "b");
  CHECK((*rows)[1].snapshot == session_bytes("small"));
}
