// Secure aggregation sessions (server/secagg/): per open session, the
// coordinator's latest ServerRound snapshot and the engine's description of
// the session, so a restarted server resumes it (FORMAT.md).
//   secagg_sessions(session, info, snapshot, updated_unix_ms)
//       one row per session the engine has not merged or given up yet
// Each call is one statement; callers open the transactions (db().begin()).
// Not thread-safe: used by the connection's one owner, inside its
// transactions (StoredSessionSink holds its own connection and a mutex).
// Errors: SQLite failures as mapped by edgefed/sqlite/error.hpp
// (kUnavailable for a full disk or a failed write).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class SecAggSessionTable {
 public:
  explicit SecAggSessionTable(sqlite::Database& db) : db_(db) {}

  // Upsert: a missing session is created with an empty snapshot; an
  // existing one keeps its snapshot, only info and the time change.
  Status put_info(const std::string& session, const std::string& info_json, int64_t now_unix_ms);
  // Upsert: a missing session is created with info '{}'; an existing one
  // keeps its info, only the snapshot and the time change.
  Status put_snapshot(const std::string& session, std::span<const uint8_t> snapshot, int64_t now_unix_ms);
  // Ok whether or not the session had a row.
  Status erase(const std::string& session);
  // Every session, ordered by id.
  Result<std::vector<SecAggSessionRow>> list();

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
