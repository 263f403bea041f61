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
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class PgVersionTable {
 public:
  explicit PgVersionTable(PgConnection& conn) : conn_(conn) {}

  // kConflict if the version exists.
  Status insert(const VersionRecord& v, std::span<const uint8_t> checkpoint);
  // The newest version, if any.
  Result<std::optional<VersionRecord>> newest();
  // A version's checkpoint; nullopt if the version is unknown or pruned.
  Result<std::optional<std::string>> checkpoint(int64_t version);
  // Drops the checkpoint blob of every version older than the newest
  // keep_last_n (counting `newest`) that is not a multiple of keep_every_m
  // (0 = no such exception), except the stable and canary versions (meta).
  // Rows stay. Returns how many blobs were dropped.
  Result<int64_t> prune(int64_t newest, int64_t keep_last_n, int64_t keep_every_m);
  // The last `limit` versions, oldest first.
  Result<std::vector<VersionRecord>> history(int64_t limit);
  // Versions that still have a checkpoint, ascending.
  Result<std::vector<int64_t>> checkpointed();
  // Sum of num_updates over every version: what the versions claim to have
  // merged (an audit compares it with the ledger).
  Result<int64_t> updates_claimed();

 private:
  PgConnection& conn_;
};

}  // namespace edgefed::server
