// One PostgreSQL connection (RAII over libpq), the server's way to its
// PostgreSQL store (issue 20):
//
//   auto conn = PgConnection::connect("postgresql://edgefed@db:5432/edgefed",
//                                     {.password_file = "/run/secrets/pg"});
//   PgTransaction tx(*conn);                          // pg_transaction.hpp
//   conn->query("INSERT INTO t(k, body) VALUES ($1, $2)",
//               {PgParam::text(key), PgParam::bytes(body)});
//   tx.commit();
//
// The connection string is libpq's (key=value or a postgresql:// URI, TLS
// through its sslmode/sslrootcert keys). The password should not be in it
// (it would end up on a command line or in a log): give a file or an
// environment variable instead; it reaches libpq as its `password` keyword.
// Thread safety: none; one thread at a time (a libpq connection may move
// between threads, but never serves two at once).
// Errors: every failure is a Status mapped by pg_error.hpp (kUnavailable:
// retry, kConflict: a constraint, kIo: refused credentials or an unusable
// database, kInternal: a bug), its message keeps the server's message and
// SQLSTATE. After a lost connection (is_broken()) every call fails with
// kUnavailable: connect again. Nothing throws.
// Ownership: owns the libpq connection; PgResults outlive it safely.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "edgefed/status.hpp"
#include "server/store/postgres/pg_param.hpp"
#include "server/store/postgres/pg_result.hpp"

struct pg_conn;

namespace edgefed::server {

struct PgConnectOptions {
  // The password: read from this file (its first line), or taken from this
  // environment variable; at most one of the two. Neither: libpq's own
  // sources (PGPASSWORD, ~/.pgpass) or none.
  std::string password_file{};
  std::string password_env{};
  // The whole connection attempt, every host of the string included.
  int connect_timeout_ms = 10000;
  std::string application_name = "edgefed";
};

enum class PgIsolation { kReadCommitted, kRepeatableRead, kSerializable };
// The form of a query's result values (pg_result.hpp): binary saves the
// hex round trip of large bytea values.
enum class PgFormat { kText, kBinary };

class PgConnection {
 public:
  // kUnavailable if the server cannot be reached, is starting or shutting
  // down, or the attempt took longer than options.connect_timeout_ms; kIo
  // if it refuses the credentials or the database; kInvalidArgument for a
  // bad password source; the message names the server and says why.
  static Result<PgConnection> connect(const std::string& conninfo, const PgConnectOptions& options = {});
  ~PgConnection();
  PgConnection(PgConnection&& o) noexcept;
  PgConnection& operator=(PgConnection&& o) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One or more statements without parameters, rows ignored.
  Status exec(std::string_view sql);
  // One statement with parameters $1..$n (at most 65535).
  Result<PgResult> query(std::string_view sql, const std::vector<PgParam>& params = {},
                         PgFormat results = PgFormat::kText);

  // BEGIN / COMMIT / ROLLBACK, for transactions that span calls
  // (pg_transaction.hpp is the scoped form). commit() of a transaction in
  // which a statement failed is kInternal (PostgreSQL rolled it back).
  // A commit that fails with kUnavailable may or may not have committed
  // (the connection was lost on the way): writes must be idempotent. After
  // a failed commit nothing is open. rollback() never fails loudly.
  Status begin(PgIsolation isolation = PgIsolation::kReadCommitted);
  Status commit();
  void rollback();
  bool in_transaction() const;

  // The connection to the server is lost (a new one is needed).
  bool is_broken() const;
  // "user@host:port/database", for messages.
  std::string describe() const;

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  Status error_status(const pg_result* result, std::string_view what) const;

  pg_conn* conn_ = nullptr;
};

}  // namespace edgefed::server
