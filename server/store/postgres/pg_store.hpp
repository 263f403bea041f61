// The server's state database in PostgreSQL (issue 20): a StateStore
// (../state_store.hpp) like Store (../store.hpp), over one PgConnection
// instead of a SQLite file, with the same tables (pg_schema.hpp) reached
// through one table object each.
//   auto store = PgStore::open("host=db dbname=edgefed user=edgefed",
//                              {.password_file = "/run/secrets/pg"});
//   (*store)->begin(); (*store)->ledger().insert(...); (*store)->commit();
// Transactions: begin()/commit()/rollback() (or conn()); every table call
// made in between is part of that transaction, every other call commits on
// its own. A commit that fails with kUnavailable may or may not have
// committed: the writes are idempotent (update_id, (agent, seq)).
// Not thread-safe: one owner, as the connection.
// Errors: as mapped by pg_error.hpp (kUnavailable: retry, on a new
// connection once conn().is_broken()).
#pragma once

#include <memory>
#include <string>

#include "edgefed/status.hpp"
#include "server/store/postgres/pg_agent_table.hpp"
#include "server/store/postgres/pg_channel_table.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/postgres/pg_ledger_table.hpp"
#include "server/store/postgres/pg_telemetry_table.hpp"
#include "server/store/postgres/pg_version_table.hpp"
#include "server/store/state_store.hpp"

namespace edgefed::server {

class PgStore final : public StateStore {
 public:
  // Connects (PgConnection::connect: a libpq key=value string or
  // postgresql:// URI) and creates the tables if missing (pg_schema.hpp).
  // kUnprocessable if the database holds another schema version.
  static Result<std::unique_ptr<PgStore>> open(const std::string& conninfo, const PgConnectOptions& options = {});

  PgConnection& conn() { return *conn_; }
  // A lost connection (the database restarted, the network dropped) is
  // replaced by a new one here and at begin(); the tables keep working on
  // it. Never inside a transaction: its statements would run outside it.
  Status reconnect() override;
  Status begin() override {
    EDGEFED_RETURN_IF_ERROR(reconnect());
    return conn_->begin();
  }
  Status commit() override { return conn_->commit(); }
  void rollback() override { conn_->rollback(); }
  std::string describe() const override { return "postgresql " + conn_->describe(); }

  PgLedgerTable& ledger() override { return ledger_; }
  PgVersionTable& versions() override { return versions_; }
  PgTelemetryTable& telemetry() override { return telemetry_; }
  PgAgentTable& agents() override { return agents_; }
  PgChannelTable& channels() override { return channels_; }

 private:
  PgStore(std::unique_ptr<PgConnection> conn, std::string conninfo, PgConnectOptions options)
      : conninfo_(std::move(conninfo)),
        options_(std::move(options)),
        conn_(std::move(conn)),
        ledger_(*conn_),
        versions_(*conn_),
        telemetry_(*conn_),
        agents_(*conn_),
        channels_(*conn_) {}
  std::string conninfo_;
  PgConnectOptions options_;
  std::unique_ptr<PgConnection> conn_;  // replaced in place by reconnect()
  PgLedgerTable ledger_;
  PgVersionTable versions_;
  PgTelemetryTable telemetry_;
  PgAgentTable agents_;
  PgChannelTable channels_;
};

}  // namespace edgefed::server
