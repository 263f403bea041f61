// StoredSessionSink: the SecAggSnapshotSink of the server, keeping each
// secure aggregation session's snapshot in the state database's
// secagg_sessions table (server/store/FORMAT.md), so that a restarted
// server resumes its open sessions.
//
// It opens its own Store on the engine's state directory: a second SQLite
// connection next to the engine's writer, serialised with it by SQLite's
// WAL locks and busy timeout, so that saving a snapshot never waits for (or
// joins) the engine's batch transactions. Every save/erase/put_info is its
// own transaction: when it returns ok the change is committed (and, with
// StoreOptions::fsync_full, fsynced), which is what the coordinator's
// "ack = durable" needs.
//
// Thread safety: every method may be called from any thread (one mutex).
// Errors: those of the store (edgefed/sqlite/error.hpp): kUnavailable for a
// full disk, a failed write or fsync, or a lock held past the busy timeout;
// the failed call's transaction is rolled back, so the session keeps what
// was stored before. One limit, SQLite's and fsync's: the frames of a
// commit whose fsync failed stay in the -wal file (their durability is
// unknown, not their content). If the process stops before its next
// successful write overwrites them, a restart may find the failed save's
// snapshot: a state whose newest message was never acknowledged, so its
// agent resends it and ServerRound accepts the equal resend.
// open(): those of Store::open.
// Ownership: owns its Store; `clock` must outlive the sink.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "edgefed/clock.hpp"
#include "edgefed/status.hpp"
#include "server/secagg/secagg_coordinator.hpp"
#include "server/store/records.hpp"
#include "server/store/store.hpp"

namespace edgefed::server {

class StoredSessionSink final : public SecAggSnapshotSink {
 public:
  static Result<std::unique_ptr<StoredSessionSink>> open(const std::string& state_dir, const StoreOptions& options,
                                                         const Clock& clock);

  // The session's snapshot replaces the stored one (its info stays).
  Status save(const std::string& session, std::span<const uint8_t> snapshot) override;
  // Drops the session's row; ok if there is none.
  Status erase(const std::string& session) override;
  // The engine's description of the session (a JSON object), kept next to
  // the snapshot (which stays).
  Status put_info(const std::string& session, const std::string& info_json);
  // Every stored session, ordered by id: what a restarted server restores.
  Result<std::vector<SecAggSessionRow>> list();

 private:
  StoredSessionSink(std::unique_ptr<Store> store, const Clock& clock) : store_(std::move(store)), clock_(clock) {}

  // Runs `write` on the table inside one transaction and commits it.
  template <typename Write>
  Status in_transaction(Write write);

  std::mutex mu_;
  std::unique_ptr<Store> store_;
  const Clock& clock_;
};

}  // namespace edgefed::server
