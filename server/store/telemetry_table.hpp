// Telemetry records, unique per (agent, seq): a record sent again after a
// lost ack is ignored, so it is stored (and counted) once. Not thread-safe:
// used by the connection's one owner, inside its transactions.
#pragma once

#include <cstdint>
#include <string>

#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "server/store/sqlite_db.hpp"

namespace edgefed::server {

class TelemetryTable {
 public:
  explicit TelemetryTable(SqliteDb& db) : db_(db) {}

  // true if stored now, false if (agent, seq) was already there.
  Result<bool> insert(const std::string& agent, const TelemetryRecord& record);
  Result<int64_t> count();

 private:
  SqliteDb& db_;
};

}  // namespace edgefed::server
