// TelemetryStore (telemetry_store.hpp, the contract) in the SQLite state
// database: table `telemetry` of FORMAT.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"
#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/telemetry_store.hpp"

namespace edgefed::server {

class TelemetryTable final : public TelemetryStore {
 public:
  explicit TelemetryTable(sqlite::Database& db) : db_(db) {}

  Result<bool> insert(const std::string& agent, const TelemetryRecord& record) override;
  Result<std::vector<TelemetryRecord>> insert(const std::string& agent, std::span<const TelemetryRecord> records) override;
  Result<int64_t> count() override;
  Result<std::vector<int64_t>> seqs_of(const std::string& agent) override;

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
