// VersionStore: model versions, one row per version with its lineage and
// statistics, and the checkpoint (encode_model bytes) of the versions
// retention keeps. Implemented by VersionTable (SQLite) and PgVersionTable
// (PostgreSQL); not thread-safe, inside the store's transactions, errors
// as LedgerStore's (ledger_store.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/status.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class VersionStore {
 public:
  virtual ~VersionStore() = default;

  // kConflict if the version exists.
  virtual Status insert(const VersionRecord& v, std::span<const uint8_t> checkpoint) = 0;
  // The newest version, if any.
  virtual Result<std::optional<VersionRecord>> newest() = 0;
  // A version's checkpoint; nullopt if the version is unknown or pruned.
  virtual Result<std::optional<std::string>> checkpoint(int64_t version) = 0;
  // Drops the checkpoint blob of every version older than the newest
  // keep_last_n (counting `newest`) that is not a multiple of keep_every_m
  // (0 = no such exception). Rows stay. Returns how many blobs were dropped.
  virtual Result<int64_t> prune(int64_t newest, int64_t keep_last_n, int64_t keep_every_m) = 0;
  // The last `limit` versions, oldest first.
  virtual Result<std::vector<VersionRecord>> history(int64_t limit) = 0;
  // Versions that still have a checkpoint, ascending.
  virtual Result<std::vector<int64_t>> checkpointed() = 0;
  // Sum of num_updates over every version: what the versions claim to have
  // merged (an audit compares it with the ledger).
  virtual Result<int64_t> updates_claimed() = 0;
};

}  // namespace edgefed::server
