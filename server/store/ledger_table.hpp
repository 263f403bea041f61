// LedgerStore (ledger_store.hpp, the contract) in the SQLite state
// database: table `ledger` of FORMAT.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/ledger_store.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class LedgerTable final : public LedgerStore {
 public:
  explicit LedgerTable(sqlite::Database& db) : db_(db) {}

  Result<std::optional<LedgerEntry>> find(const std::string& agent, const std::string& update_id) override;
  Result<int64_t> insert(const LedgerEntry& e, std::span<const uint8_t> payload) override;
  Status for_each_pending(const PendingFn& fn) override;
  Result<int64_t> consume_pending(int64_t version) override;
  Result<std::vector<int64_t>> pending_ids() override;
  Status for_each_pending_of(std::span<const int64_t> ids, const PendingFn& fn) override;
  Result<int64_t> consume(int64_t version, std::span<const int64_t> ids) override;
  Result<std::vector<MergedUpdate>> merged_into(int64_t version) override;
  Result<int64_t> count_accepted() override;
  Result<int64_t> count_merged() override;
  Result<int64_t> samples_merged() override;
  Result<std::vector<std::string>> update_ids_of(const std::string& agent) override;

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
