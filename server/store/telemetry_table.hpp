// Telemetry records, unique per (agent, seq): a record sent again after a
// lost ack is ignored, so it is stored (and counted) once. This table is the
// one place that decides whether a record is new; everything that counts
// records (metrics, the fleet monitor) counts what insert reports as stored.
// Not thread-safe: used by the connection's one owner, inside its transactions.
#pragma once

#include <cstdint>
#include <span>
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
  // Stores each record of one agent's batch; returns the records stored now
  // (in batch order), leaving out those whose (agent, seq) was already there.
  // Inside the caller's transaction: if it rolls back, nothing was stored.
  Result<std::vector<TelemetryRecord>> insert(const std::string& agent, std::span<const TelemetryRecord> records);
  Result<int64_t> count();
  // The seqs stored for an agent, ascending.
  Result<std::vector<int64_t>> seqs_of(const std::string& agent);

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
