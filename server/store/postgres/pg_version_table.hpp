// Model versions in PostgreSQL: VersionTable (../version_table.hpp) with the
// same methods, records and error codes, over a PgConnection. One row per
// version with its lineage and statistics, the optimizer state and the
// checkpoint (encode_model bytes) as bytea for the versions retention keeps.
// A version that exists already is kConflict without an error in the
// caller's transaction (as with SQLite). history() with a negative limit
// returns every version (SQLite's LIMIT -1).
// Not thread-safe: used by the connection's one owner, inside its
// transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/status.hpp"
#include "server/store/version_store.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class PgVersionTable final : public VersionStore {
 public:
  explicit PgVersionTable(PgConnection& conn) : conn_(conn) {}

  Status insert(const VersionRecord& v, std::span<const uint8_t> checkpoint) override;
  Result<std::optional<VersionRecord>> newest() override;
  Result<std::optional<std::string>> checkpoint(int64_t version) override;
  Result<int64_t> prune(int64_t newest, int64_t keep_last_n, int64_t keep_every_m) override;
  Result<std::vector<VersionRecord>> history(int64_t limit) override;
  Result<std::vector<int64_t>> checkpointed() override;
  Result<int64_t> updates_claimed() override;

 private:
  PgConnection& conn_;
};

}  // namespace edgefed::server
