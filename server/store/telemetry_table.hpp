// Telemetry records, unique per (agent, seq): a record sent again after a
// lost ack is ignored, so it is stored (and counted) once. Not thread-safe:
// used by the connection's one owner, inside its transactions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"
#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::server {

class TelemetryTable {
 public:
  explicit TelemetryTable(sqlite::Database& db) : db_(db) {}

  // true if stored now, false if (agent, seq) was already there.
  Result<bool> insert(const std::string& agent, const TelemetryRecord& record);
  Result<int64_t> count();
  // The seqs stored for an agent, ascending.
  Result<std::vector<int64_t>> seqs_of(const std::string& agent);

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
