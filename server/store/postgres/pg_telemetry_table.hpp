// Telemetry records in PostgreSQL: TelemetryTable (../telemetry_table.hpp)
// with the same methods and error codes, over a PgConnection. Unique per
// (agent, seq): a record sent again after a lost ack (to this replica or
// another) is ignored, so it is stored and counted once; insert reports
// whether it stored the record now, and everything that counts records
// counts that.
// Not thread-safe: used by the connection's one owner, inside its
// transactions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "server/store/telemetry_store.hpp"
#include "server/store/postgres/pg_connection.hpp"

namespace edgefed::server {

class PgTelemetryTable final : public TelemetryStore {
 public:
  explicit PgTelemetryTable(PgConnection& conn) : conn_(conn) {}

  Result<bool> insert(const std::string& agent, const TelemetryRecord& record) override;
  Result<std::vector<TelemetryRecord>> insert(const std::string& agent, std::span<const TelemetryRecord> records) override;
  Result<int64_t> count() override;
  Result<std::vector<int64_t>> seqs_of(const std::string& agent) override;

 private:
  PgConnection& conn_;
};

}  // namespace edgefed::server
