// Model versions: one row per version with its lineage and statistics, and
// the checkpoint (encode_model bytes) for the versions retention keeps. Not
// thread-safe: used by the connection's one owner, inside its transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class VersionTable {
 public:
  explicit VersionTable(sqlite::Database& db) : db_(db) {}

  // kConflict if the version exists.
  Status insert(const VersionRecord& v, std::span<const uint8_t> checkpoint);
  // The newest version, if any.
  Result<std::optional<VersionRecord>> newest();
  // A version's checkpoint; nullopt if the version is unknown or pruned.
  Result<std::optional<std::string>> checkpoint(int64_t version);
  // Drops the checkpoint blob of every version older than the newest
  // keep_last_n (counting `newest`) that is not a multiple of keep_every_m
  // (0 = no such exception). Rows stay. Returns how many blobs were dropped.
  Result<int64_t> prune(int64_t newest, int64_t keep_last_n, int64_t keep_every_m);
  // The last `limit` versions, oldest first.
  Result<std::vector<VersionRecord>> history(int64_t limit);
  // Versions that still have a checkpoint, ascending.
  Result<std::vector<int64_t>> checkpointed();
  // Sum of num_updates over every version: what the versions claim to have
  // merged (an audit compares it with the ledger).
  Result<int64_t> updates_claimed();

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
