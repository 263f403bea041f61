// A read-only view of a server's state database (FORMAT.md), for tools that
// inspect it after (or while) the server runs: the simulator's ledger audit
// and its per-version evaluation. Opens an existing file without creating or
// changing it (SQLITE_OPEN_READONLY; a WAL database needs its -shm file or a
// writable directory, as SQLite documents), checks the schema version, and
// offers only reads.
// Not thread-safe: one owner. Errors: kIo if the file cannot be opened,
// kUnprocessable for another schema version, SQLite errors as mapped by
// edgefed/sqlite/error.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/ledger_table.hpp"
#include "server/store/telemetry_table.hpp"
#include "server/store/version_table.hpp"

namespace edgefed::server {

class ReadOnlyStore {
 public:
  // `database_path`: the file itself (Store::database_path(state_dir)).
  static Result<std::unique_ptr<ReadOnlyStore>> open(const std::string& database_path);

  // Ledger rows consumed by a version, and the sum of their num_samples.
  Result<int64_t> updates_merged() { return ledger_.count_merged(); }
  Result<int64_t> samples_merged() { return ledger_.samples_merged(); }
  // Sum of num_updates over the versions.
  Result<int64_t> updates_claimed_by_versions() { return versions_.updates_claimed(); }
  Result<std::vector<std::string>> update_ids_of(const std::string& agent) { return ledger_.update_ids_of(agent); }
  Result<std::vector<int64_t>> telemetry_seqs_of(const std::string& agent) { return telemetry_.seqs_of(agent); }
  // A version's checkpoint; nullopt if the version is unknown or pruned.
  Result<std::optional<std::string>> checkpoint(int64_t version) { return versions_.checkpoint(version); }
  // Versions that still have a checkpoint, ascending.
  Result<std::vector<int64_t>> checkpointed() { return versions_.checkpointed(); }

 private:
  explicit ReadOnlyStore(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), ledger_(*db_, nullptr, nullptr), versions_(*db_), telemetry_(*db_) {}
  std::unique_ptr<sqlite::Database> db_;
  LedgerTable ledger_;
  VersionTable versions_;
  TelemetryTable telemetry_;
};

}  // namespace edgefed::server
