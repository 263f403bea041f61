// StateStore: the server's state database as the engine sees it, whatever
// keeps it: versions and checkpoints, the update ledger, agents, telemetry
// and the serving channels (FORMAT.md), one table object each, and the
// transaction they share. Two implementations pass one contract suite
// (tests/unit/server/store/postgres/store_contract_test.cpp):
//   Store    (store.hpp)             one SQLite file in the state directory,
//                                    the embedded default
//   PgStore  (postgres/pg_store.hpp) a PostgreSQL database (--store
//                                    postgresql://...), shared by replicas
// server/engine/state_store_opener.hpp picks one from the server's options.
// Transactions: begin()/commit()/rollback(); every table call made in
// between is part of that transaction, every other call commits on its own.
// commit() ok means durable (the "ack = durable" rule), except in a store
// that defers_sync(): its commit() only orders the transaction, and
// sync_committed() then makes every commit before it durable (the engine's
// pipelined group commit acknowledges after that). A commit that fails
// with kUnavailable left nothing (SQLite) or may have committed
// (PostgreSQL, a connection lost during COMMIT): every write is idempotent
// by its key (update_id, (agent, seq), version), so a retry is safe.
// Not thread-safe: one owner (the engine's writer thread).
#pragma once

#include <memory>
#include <string>

#include "edgefed/status.hpp"
#include "server/store/agent_store.hpp"
#include "server/store/channel_store.hpp"
#include "server/store/ledger_store.hpp"
#include "server/store/telemetry_store.hpp"
#include "server/store/version_store.hpp"

namespace edgefed::server {

class UpdateSpool;

class RelayBatchTable;

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Makes the store usable again after its connection was lost (PostgreSQL:
  // a new connection; SQLite: nothing to do). begin() does it too. Outside
  // transactions only. kUnavailable while the database cannot be reached.
  virtual Status reconnect() = 0;
  virtual Status begin() = 0;
  virtual Status commit() = 0;
  // Never fails: what the transaction did is gone (or was never there).
  virtual void rollback() = 0;

  // Deferred durability (above). sync_committed() is the one call that may
  // run on another thread while the owner uses the store; not concurrently
  // with itself. kUnavailable if the fsync failed: the transactions it
  // covered are committed but maybe not on disk, and cannot be rolled back.
  virtual bool defers_sync() const { return false; }
  virtual Status sync_committed() { return Status::ok(); }

  virtual LedgerStore& ledger() = 0;
  virtual VersionStore& versions() = 0;
  virtual TelemetryStore& telemetry() = 0;
  virtual AgentStore& agents() = 0;
  virtual ChannelStore& channels() = 0;
  // A site relay's outbox (relay_batch_table.hpp); null where the store
  // has none (PostgreSQL: relays keep theirs in SQLite).
  virtual RelayBatchTable* relay_batches() { return nullptr; }

  // The update spool (update_spool.hpp): where the engine's threads write
  // update bodies before queueing them, rows then naming them by extent
  // (LedgerEntry::spooled). Null where bodies go into the ledger itself
  // (PostgreSQL; SQLite opened without one). Thread-safe, shared: the
  // engine's threads use it beside the store's owner.
  virtual std::shared_ptr<UpdateSpool> spool() { return nullptr; }

  // Where the state lives, for logs: a file path, or the database's
  // host/port/name (never a password).
  virtual std::string describe() const = 0;
};

}  // namespace edgefed::server
