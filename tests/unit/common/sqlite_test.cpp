// The common SQLite layer: result-code mapping, statements, transactions,
// read-only opens, and a commit that fails through the storage seam (the
// fault VFS) leaving nothing behind.
#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/sqlite/error.hpp"
#include "edgefed/sqlite/transaction.hpp"
#include "scratch_dir.hpp"
#include "sqlite_fault_env.hpp"

using namespace edgefed;
using edgefed::sqlite::Database;
using edgefed::sqlite::Transaction;

TEST_CASE("sqlite: result codes map to Status codes in one place", "[unit][sqlite]") {
  CHECK(sqlite::code_for(SQLITE_OK) == Code::kOk);
  CHECK(sqlite::code_for(SQLITE_DONE) == Code::kOk);
  CHECK(sqlite::code_for(SQLITE_BUSY) == Code::kUnavailable);
  CHECK(sqlite::code_for(SQLITE_BUSY_SNAPSHOT) == Code::kUnavailable);
  CHECK(sqlite::code_for(SQLITE_LOCKED) == Code::kUnavailable);
  CHECK(sqlite::code_for(SQLITE_FULL) == Code::kUnavailable);
  CHECK(sqlite::code_for(SQLITE_IOERR) == Code::kUnavailable);
  CHECK(sqlite::code_for(SQLITE_IOERR_FSYNC) == Code::kUnavailable);
  CHECK(sqlite::code_for(SQLITE_IOERR_WRITE) == Code::kUnavailable);
  CHECK(sqlite::code_for(SQLITE_CONSTRAINT_UNIQUE) == Code::kConflict);
  CHECK(sqlite::code_for(SQLITE_CORRUPT) == Code::kIo);
  CHECK(sqlite::code_for(SQLITE_NOTADB) == Code::kIo);
  CHECK(sqlite::code_for(SQLITE_CANTOPEN) == Code::kIo);
  CHECK(sqlite::code_for(SQLITE_READONLY) == Code::kIo);
  CHECK(sqlite::code_for(SQLITE_ERROR) == Code::kInternal);
  CHECK(sqlite::code_for(SQLITE_MISUSE) == Code::kInternal);
  const Status st = sqlite::status_for(SQLITE_IOERR_FSYNC, "commit", "disk I/O error");
  CHECK(st.code() == Code::kUnavailable);
  CHECK(sqlite::transient(st));
  CHECK(st.message().find("commit") != std::string::npos);
  CHECK(http_status_for(st.code()) == 503);
  CHECK(!sqlite::transient(sqlite::status_for(SQLITE_CORRUPT, "read", "")));
}

TEST_CASE("sqlite: database file 0600, statements, scoped transactions", "[unit][sqlite]") {
  testing::ScratchDir dir;
  const std::string path = dir.file("t.db");
  auto db = Database::open(path);
  REQUIRE(db.is_ok());
  Database& d = **db;
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(d.enable_wal().is_ok());
  REQUIRE(d.exec("CREATE TABLE t(k TEXT PRIMARY KEY, v BLOB)").is_ok());
  const std::string blob("\0\1\2", 3);
  {
    Transaction tx(d);
    REQUIRE(tx.status().is_ok());
    CHECK(d.in_transaction());
    auto ins = d.prepare("INSERT INTO t(k, v) VALUES(?1, ?2)");
    REQUIRE(ins.is_ok());
    ins->bind(1, std::string_view("a")).bind_blob(2, std::string_view(blob));
    REQUIRE(ins->run().is_ok());
    REQUIRE(tx.commit().is_ok());
  }
  {
    Transaction tx(d);  // rolled back by its destructor
    REQUIRE(d.exec("INSERT INTO t(k, v) VALUES('b', x'00')").is_ok());
  }
  CHECK(!d.in_transaction());
  CHECK(*d.query_int("SELECT COUNT(*) FROM t") == 1);
  auto dup = d.prepare("INSERT INTO t(k) VALUES('a')");
  REQUIRE(dup.is_ok());
  const Status conflict = dup->run();
  CHECK(conflict.code() == Code::kConflict);
  auto sel = d.cached("SELECT v FROM t WHERE k = ?1");
  REQUIRE(sel.is_ok());
  (*sel)->bind(1, std::string_view("a"));
  REQUIRE(*(*sel)->step());
  CHECK((*sel)->column_is_blob(0));
  CHECK((*sel)->column_blob_string(0) == blob);
  CHECK(d.prepare("SELECT nope FROM t").status().code() == Code::kInternal);
}

TEST_CASE("sqlite: read-only opens never create or change the file", "[unit][sqlite]") {
  testing::ScratchDir dir;
  auto missing = Database::open(dir.file("none.db"), {.read_only = true});
  CHECK(missing.status().code() == Code::kIo);
  struct stat st {};
  CHECK(::stat(dir.file("none.db").c_str(), &st) != 0);
  {
    auto w = Database::open(dir.file("x.db"));
    REQUIRE(w.is_ok());
    REQUIRE((*w)->exec("CREATE TABLE t(v INTEGER); INSERT INTO t VALUES(7)").is_ok());
  }
  auto r = Database::open(dir.file("x.db"), {.read_only = true});
  REQUIRE(r.is_ok());
  CHECK(*(*r)->query_int("SELECT v FROM t") == 7);
  CHECK((*r)->exec("INSERT INTO t VALUES(8)").code() == Code::kIo);  // SQLITE_READONLY
  CHECK(Database::open(dir.file("x.db"), {.vfs = "no-such-vfs"}).status().code() == Code::kInvalidArgument);
}

TEST_CASE("sqlite: a failed fsync or a full disk fails the commit, keeps what was committed",
          "[unit][sqlite][fault]") {
  const std::string fault = GENERATE(as<std::string>{}, "fsync", "disk_full");
  INFO(fault);
  testing::ScratchDir dir;
  testing::SqliteFaultEnv env;
  auto db = Database::open(dir.file("f.db"), {.vfs = env.vfs_name()});
  REQUIRE(db.is_ok());
  Database& d = **db;
  REQUIRE(d.enable_wal().is_ok());
  REQUIRE(d.exec("PRAGMA synchronous=FULL; CREATE TABLE t(v INTEGER)").is_ok());
  REQUIRE(d.exec("INSERT INTO t VALUES(1)").is_ok());
  if (fault == "fsync") {
    env.fail_syncs(1);
  } else {
    env.disk_full_after(0);
  }
  Status failed;
  {
    Transaction tx(d);
    REQUIRE(tx.status().is_ok());
    REQUIRE(d.exec("INSERT INTO t VALUES(2)").is_ok());
    failed = tx.commit();
  }
  CHECK(failed.code() == Code::kUnavailable);
  CHECK(env.failed_syncs() + env.failed_writes() >= 1);
  CHECK(!d.in_transaction());
  CHECK(*d.query_int("SELECT COUNT(*) FROM t") == 1);  // reads still work
  env.clear();
  REQUIRE(d.exec("INSERT INTO t VALUES(3)").is_ok());  // and writes again
  db.value().reset();  // close, then reopen without the fault VFS
  auto again = Database::open(dir.file("f.db"));
  REQUIRE(again.is_ok());
  auto all = (*again)->prepare("SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY v)");
  REQUIRE(all.is_ok());
  REQUIRE(*all->step());
  CHECK(all->column_text(0) == "1,3");
}

TEST_CASE("sqlite: first_int and all_ints read column 0 and leave the statement reusable", "[unit][sqlite]") {
  testing::ScratchDir dir;
  auto db = Database::open(dir.file("ints.db"));
  REQUIRE(db.is_ok());
  Database& d = **db;
  REQUIRE(d.exec("CREATE TABLE n(x INTEGER)").is_ok());
  auto count = d.cached("SELECT count(*) FROM n");
  auto max = d.cached("SELECT max(x) FROM n WHERE x < ?1");
  auto all = d.cached("SELECT x FROM n WHERE x < ?1 ORDER BY x");
  REQUIRE((count.is_ok() && max.is_ok() && all.is_ok()));
  CHECK(*(*count)->first_int() == 0);
  (*all)->bind(1, int64_t{100});
  CHECK((*all)->all_ints()->empty());
  REQUIRE(d.exec("INSERT INTO n(x) VALUES (5), (1), (3), (200)").is_ok());
  CHECK(*(*count)->first_int() == 4);
  CHECK(*(*count)->first_int() == 4);  // reset: runs again
  (*max)->bind(1, int64_t{100});
  CHECK(*(*max)->first_int(-1) == 5);
  (*max)->bind(1, int64_t{0});
  CHECK(*(*max)->first_int(-1) == 0);  // max() of no rows is NULL, read as 0: one row, not none
  (*all)->bind(1, int64_t{100});
  CHECK(*(*all)->all_ints() == std::vector<int64_t>{1, 3, 5});
  auto none = d.cached("SELECT x FROM n WHERE x > 1000");
  REQUIRE(none.is_ok());
  CHECK(*(*none)->first_int(-7) == -7);
}
