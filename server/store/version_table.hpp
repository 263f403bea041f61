// VersionStore (version_store.hpp, the contract) in the SQLite state
// database: table `versions` of FORMAT.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/version_store.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class VersionTable final : public VersionStore {
 public:
  explicit VersionTable(sqlite::Database& db) : db_(db) {}

  Status insert(const VersionRecord& v, std::span<const uint8_t> checkpoint) override;
  Result<std::optional<VersionRecord>> newest() override;
  Result<std::optional<std::string>> checkpoint(int64_t version) override;
  Result<int64_t> prune(int64_t newest, int64_t keep_last_n, int64_t keep_every_m) override;
  Result<std::vector<VersionRecord>> history(int64_t limit) override;
  Result<std::vector<int64_t>> checkpointed() override;
  Result<int64_t> updates_claimed() override;

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
