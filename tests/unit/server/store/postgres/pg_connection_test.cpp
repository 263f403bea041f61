// The libpq layer of the PostgreSQL store against a real server: values
// round trip, errors map to their codes with the SQLSTATE kept, transactions
// roll back, a stopped or killed server and refused credentials give clear
// errors, committed rows survive a crash.
#include <signal.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "postgres_instance.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/postgres/pg_error.hpp"
#include "server/store/postgres/pg_transaction.hpp"

using edgefed::Code;
using edgefed::server::PgConnection;
using edgefed::server::PgConnectOptions;
using edgefed::server::PgFormat;
using edgefed::server::PgParam;
using edgefed::server::PgTransaction;
using edgefed::testing::PostgresInstance;

namespace {

// One server for the test cases that leave it running (CTest runs each test
// case as a process of its own; a whole-binary run shares it).
PostgresInstance& shared_pg() {
  static PostgresInstance pg("pg_layer");
  return pg;
}

PgConnection pg_connect(const PostgresInstance& pg) {
  PgConnectOptions options;
  options.password_file = pg.password_file();
  auto conn = PgConnection::connect(pg.conninfo(), options);
  INFO(conn.status().to_string());
  REQUIRE(conn.is_ok());
  return std::move(conn).value();
}

int64_t pg_count(PgConnection& conn, const std::string& table) {
  auto res = conn.query("SELECT count(*) FROM " + table);
  INFO(res.status().to_string());
  REQUIRE(res.is_ok());
  return res->get_int64(0, 0);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("postgres: text, integers, NULL and 400 KB bytea values round trip", "[pg]") {
  PgConnection conn = pg_connect(shared_pg());
  REQUIRE(conn.exec("DROP TABLE IF EXISTS items; "
                    "CREATE TABLE items (id bigint PRIMARY KEY, name text, body bytea, note text)")
              .is_ok());
  std::string body(400 * 1024, '\0');
  std::mt19937 rng(7);
  for (char& c : body) c = static_cast<char>(rng() & 0xff);
  body[0] = '\0';
  body[1] = '\xff';
  const std::string name = "h\xc3\xa9llo, w\xc3\xb6rld";

  auto ins = conn.query("INSERT INTO items (id, name, body, note) VALUES ($1, $2, $3, $4)",
                        {PgParam::int64(-9000000000LL), PgParam::text(name), PgParam::bytes(body), PgParam::null()});
  INFO(ins.status().to_string());
  REQUIRE(ins.is_ok());
  CHECK(ins->rows_affected() == 1);
  REQUIRE(conn.query("INSERT INTO items (id, name, body) VALUES ($1, $2, $3)",
                     {PgParam::int64(2), PgParam::text(""), PgParam::bytes(std::string_view())})
              .is_ok());

  for (const PgFormat format : {PgFormat::kText, PgFormat::kBinary}) {
    CAPTURE(format == PgFormat::kText ? "text" : "binary");
    auto res = conn.query("SELECT id, name, body, note FROM items ORDER BY id", {}, format);
    INFO(res.status().to_string());
    REQUIRE(res.is_ok());
    REQUIRE(res->rows() == 2);
    REQUIRE(res->columns() == 4);
    CHECK(res->column("body") == 2);
    CHECK(res->column("nope") == -1);
    CHECK(res->get_int64(0, 0) == -9000000000LL);
    CHECK(res->get_text(0, 1) == name);
    CHECK(res->get_bytes(0, 2) == body);
    CHECK(res->is_null(0, 3));
    CHECK_FALSE(res->is_null(0, 2));
    // An empty bytea and an empty text are values, not NULL.
    CHECK(res->get_int64(1, 0) == 2);
    CHECK_FALSE(res->is_null(1, 1));
    CHECK_FALSE(res->is_null(1, 2));
    CHECK(res->get_bytes(1, 2).empty());
    // Out of range reads as NULL.
    CHECK(res->is_null(2, 0));
    CHECK(res->get_text(0, 9).empty());
  }
  // Binary integers of every width, sign-extended.
  auto ints = conn.query("SELECT $1::int2, $2::int4, $3::int8", {PgParam::int64(-2), PgParam::int64(-70000),
                                                                  PgParam::int64(INT64_MIN)},
                         PgFormat::kBinary);
  REQUIRE(ints.is_ok());
  CHECK(ints->get_int64(0, 0) == -2);
  CHECK(ints->get_int64(0, 1) == -70000);
  CHECK(ints->get_int64(0, 2) == INT64_MIN);
  // A text parameter with a NUL byte is refused before it is sent.
  auto nul = conn.query("SELECT $1::text", {PgParam::text(std::string_view("a\0b", 3))});
  CHECK(nul.status().code() == Code::kInvalidArgument);
}

TEST_CASE("postgres: a unique violation is kConflict and keeps the SQLSTATE", "[pg]") {
  PgConnection conn = pg_connect(shared_pg());
  REQUIRE(conn.exec("DROP TABLE IF EXISTS uniq; CREATE TABLE uniq (k text PRIMARY KEY)").is_ok());
  REQUIRE(conn.query("INSERT INTO uniq VALUES ($1)", {PgParam::text("a")}).is_ok());
  auto dup = conn.query("INSERT INTO uniq VALUES ($1)", {PgParam::text("a")});
  REQUIRE_FALSE(dup.is_ok());
  CHECK(dup.status().code() == Code::kConflict);
  CHECK(contains(dup.status().message(), "duplicate key value violates unique constraint"));
  CHECK(contains(dup.status().message(), "(SQLSTATE 23505)"));
  CHECK(contains(dup.status().message(), "INSERT INTO uniq"));
  // A bug in a statement is kInternal; the connection stays usable.
  const auto bad = conn.exec("SELEKT 1");
  CHECK(bad.code() == Code::kInternal);
  CHECK(contains(bad.message(), "42601"));
  CHECK_FALSE(conn.is_broken());
  CHECK(pg_count(conn, "uniq") == 1);
}

TEST_CASE("postgres: a rolled-back transaction leaves nothing", "[pg]") {
  PgConnection conn = pg_connect(shared_pg());
  PgConnection other = pg_connect(shared_pg());
  REQUIRE(conn.exec("DROP TABLE IF EXISTS tx; CREATE TABLE tx (v int PRIMARY KEY)").is_ok());
  {
    PgTransaction tx(conn);
    REQUIRE(tx.status().is_ok());
    REQUIRE(conn.query("INSERT INTO tx VALUES ($1), ($2)", {PgParam::int64(1), PgParam::int64(2)}).is_ok());
    CHECK(conn.in_transaction());
    CHECK(pg_count(other, "tx") == 0);  // not visible before commit
  }  // no commit: rolled back
  CHECK_FALSE(conn.in_transaction());
  CHECK(pg_count(conn, "tx") == 0);

  REQUIRE(conn.begin().is_ok());
  CHECK(conn.begin().code() == Code::kInternal);  // no nested BEGIN
  REQUIRE(conn.exec("INSERT INTO tx VALUES (3)").is_ok());
  conn.rollback();
  CHECK(pg_count(conn, "tx") == 0);

  // A failed statement dooms the transaction: COMMIT says so.
  {
    PgTransaction tx(conn, edgefed::server::PgIsolation::kSerializable);
    REQUIRE(tx.status().is_ok());
    REQUIRE(conn.exec("INSERT INTO tx VALUES (4)").is_ok());
    CHECK(conn.exec("INSERT INTO tx VALUES (4)").code() == Code::kConflict);
    const auto st = tx.commit();
    CHECK(st.code() == Code::kInternal);
    CHECK(contains(st.message(), "rolled it back"));
  }
  CHECK_FALSE(conn.in_transaction());
  CHECK(pg_count(conn, "tx") == 0);

  {
    PgTransaction tx(conn);
    REQUIRE(conn.exec("INSERT INTO tx VALUES (5)").is_ok());
    REQUIRE(tx.commit().is_ok());
  }
  CHECK(pg_count(other, "tx") == 1);
}

TEST_CASE("postgres: a stopped server is kUnavailable with a clear message", "[pg]") {
  PostgresInstance pg;
  PgConnection conn = pg_connect(pg);
  REQUIRE(conn.exec("SELECT 1").is_ok());
  pg.stop();
  CHECK_FALSE(pg.running());
  // The open connection: the server ended it (57P01) or it is gone.
  const auto lost = conn.exec("SELECT 1");
  INFO(lost.to_string());
  CHECK(lost.code() == Code::kUnavailable);
  CHECK(edgefed::server::pg_transient(lost));
  CHECK(conn.is_broken());
  CHECK(conn.exec("SELECT 1").code() == Code::kUnavailable);
  // A new one: refused at once, and the message says where and why.
  PgConnectOptions options;
  options.password_file = pg.password_file();
  options.connect_timeout_ms = 3000;
  auto fresh = PgConnection::connect(pg.conninfo(), options);
  INFO(fresh.status().to_string());
  CHECK(fresh.status().code() == Code::kUnavailable);
  CHECK(contains(fresh.status().message(), "127.0.0.1"));
  CHECK(contains(fresh.status().message(), std::to_string(pg.port())));
  CHECK(contains(fresh.status().message(), "Connection refused"));
}

TEST_CASE("postgres: committed rows survive kill and restart", "[pg]") {
  PostgresInstance pg;
  PgConnection conn = pg_connect(pg);
  PgConnection open_tx = pg_connect(pg);
  REQUIRE(conn.exec("CREATE TABLE durable (id int PRIMARY KEY, body bytea)").is_ok());
  const std::string body(4096, 'x');
  {
    PgTransaction tx(conn);
    for (int i = 0; i < 100; ++i)
      REQUIRE(conn.query("INSERT INTO durable VALUES ($1, $2)", {PgParam::int64(i), PgParam::bytes(body)}).is_ok());
    REQUIRE(tx.commit().is_ok());
  }
  REQUIRE(open_tx.begin().is_ok());
  REQUIRE(open_tx.exec("INSERT INTO durable VALUES (1000, NULL)").is_ok());  // never committed

  const pid_t postmaster = pg.pid();
  pg.kill();
  CHECK_FALSE(pg.running());
  CHECK((::kill(postmaster, 0) != 0 && errno == ESRCH));
  CHECK(conn.exec("SELECT 1").code() == Code::kUnavailable);

  pg.restart();  // would fail were a killed backend still attached to the old shared memory
  CHECK(pg.running());
  CHECK(contains(pg.log_tail(100000), "automatic recovery in progress"));  // a crash, not a shutdown
  PgConnection after = pg_connect(pg);
  CHECK(pg_count(after, "durable") == 100);
  auto row = after.query("SELECT body FROM durable WHERE id = $1", {PgParam::int64(99)}, PgFormat::kBinary);
  REQUIRE(row.is_ok());
  REQUIRE(row->rows() == 1);
  CHECK(row->get_bytes(0, 0) == body);
  REQUIRE(after.exec("INSERT INTO durable VALUES (100, NULL)").is_ok());
  CHECK(pg_count(after, "durable") == 101);
}

TEST_CASE("postgres: wrong or missing credentials are refused with a clear error", "[pg]") {
  PostgresInstance& pg = shared_pg();
  ::unsetenv("PGPASSWORD");
  ::unsetenv("PGPASSFILE");
  ::setenv("PGPASSFILE", "/nonexistent/edgefed-pgpass", 1);  // no ~/.pgpass either

  PgConnectOptions wrong;
  ::setenv("EDGEFED_TEST_PG_PASSWORD", "not-the-password", 1);
  wrong.password_env = "EDGEFED_TEST_PG_PASSWORD";
  auto refused = PgConnection::connect(pg.conninfo(), wrong);
  INFO(refused.status().to_string());
  CHECK(refused.status().code() == Code::kIo);
  CHECK(contains(refused.status().message(), "password authentication failed for user \"edgefed\""));
  CHECK(contains(refused.status().message(), "(SQLSTATE 28P01)"));
  CHECK_FALSE(contains(refused.status().message(), "not-the-password"));

  auto none = PgConnection::connect(pg.conninfo());
  INFO(none.status().to_string());
  CHECK(none.status().code() == Code::kIo);
  CHECK(contains(none.status().message(), "none was given"));

  ::setenv("EDGEFED_TEST_PG_PASSWORD", pg.password().c_str(), 1);
  auto right = PgConnection::connect(pg.conninfo(), wrong);
  INFO(right.status().to_string());
  CHECK(right.is_ok());
  // Over the Unix socket: trust, no password.
  CHECK(PgConnection::connect(pg.socket_conninfo()).is_ok());

  PgConnectOptions options;
  options.password_file = pg.password_file();
  auto no_db = PgConnection::connect("host=127.0.0.1 port=" + std::to_string(pg.port()) +
                                         " dbname=no_such_db user=edgefed",
                                     options);
  CHECK(no_db.status().code() == Code::kIo);
  CHECK(contains(no_db.status().message(), "3D000"));

  options.password_file = pg.dir() + "/no-such-file";
  auto missing = PgConnection::connect(pg.conninfo(), options);
  CHECK(missing.status().code() == Code::kIo);
  CHECK(contains(missing.status().message(), "no-such-file"));
  options.password_env = "EDGEFED_TEST_PG_PASSWORD";
  CHECK(PgConnection::connect(pg.conninfo(), options).status().code() == Code::kInvalidArgument);
  PgConnectOptions unset;
  unset.password_env = "EDGEFED_TEST_PG_UNSET_VARIABLE";
  CHECK(PgConnection::connect(pg.conninfo(), unset).status().code() == Code::kInvalidArgument);
  auto garbled = PgConnection::connect("host=127.0.0.1 frobnicate=1");
  CHECK(garbled.status().code() == Code::kInvalidArgument);
}

TEST_CASE("postgres: SQLSTATEs map to status codes", "[pg]") {
  using edgefed::server::pg_code_for;
  CHECK(pg_code_for("") == Code::kUnavailable);
  CHECK(pg_code_for("08006") == Code::kUnavailable);
  CHECK(pg_code_for("57P01") == Code::kUnavailable);
  CHECK(pg_code_for("57P03") == Code::kUnavailable);
  CHECK(pg_code_for("40001") == Code::kUnavailable);
  CHECK(pg_code_for("40P01") == Code::kUnavailable);
  CHECK(pg_code_for("25006") == Code::kUnavailable);
  CHECK(pg_code_for("53100") == Code::kUnavailable);
  CHECK(pg_code_for("23505") == Code::kConflict);
  CHECK(pg_code_for("23503") == Code::kConflict);
  CHECK(pg_code_for("28P01") == Code::kIo);
  CHECK(pg_code_for("3D000") == Code::kIo);
  CHECK(pg_code_for("58030") == Code::kIo);
  CHECK(pg_code_for("XX001") == Code::kIo);
  CHECK(pg_code_for("42601") == Code::kInternal);
  CHECK(pg_code_for("22003") == Code::kInternal);
  const auto st = edgefed::server::pg_status("23505", "INSERT", "duplicate key");
  CHECK(st.message() == "postgres: INSERT: duplicate key (SQLSTATE 23505)");
}
