// TelemetryStore: telemetry records, unique per (agent, seq): a record sent
// again after a lost ack is ignored, so it is stored (and counted) once.
// This is the one place that decides whether a record is new; everything
// that counts records (metrics, the fleet monitor) counts what insert
// reports as stored. Implemented by TelemetryTable (SQLite) and
// PgTelemetryTable (PostgreSQL); not thread-safe, inside the store's
// transactions, errors as LedgerStore's (ledger_store.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"

namespace edgefed::server {

class TelemetryStore {
 public:
  virtual ~TelemetryStore() = default;

  // true if stored now, false if (agent, seq) was already there.
  virtual Result<bool> insert(const std::string& agent, const TelemetryRecord& record) = 0;
  // Stores each record of one agent's batch; returns the records stored now
  // (in batch order), leaving out those whose (agent, seq) was already there.
  // Inside the caller's transaction: if it rolls back, nothing was stored.
  virtual Result<std::vector<TelemetryRecord>> insert(const std::string& agent,
                                                      std::span<const TelemetryRecord> records) = 0;
  virtual Result<int64_t> count() = 0;
  // The seqs stored for an agent, ascending.
  virtual Result<std::vector<int64_t>> seqs_of(const std::string& agent) = 0;
};

}  // namespace edgefed::server
