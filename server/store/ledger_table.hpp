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

class UpdateSpool;

class LedgerTable final : public LedgerStore {
 public:
  // spool: where rows inserted with `spooled` keep their bodies (null: the
  // store has none, and such rows are refused). released: where consume
  // calls put the spool offsets of the bodies they free, for the store to
  // release once that commit is durable.
  LedgerTable(sqlite::Database& db, UpdateSpool* spool, std::vector<int64_t>* released)
      : db_(db), spool_(spool), released_(released) {}

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
  // Calls fn with the row `st` is on, its body read from the payload
  // column or the spool (columns 14-16 after kLedgerColumns).
  Status deliver(const sqlite::Statement& st, const PendingFn& fn);
  // Runs an UPDATE ... RETURNING coalesce(spool_offset, -1); counts the
  // rows, keeps the offsets for release.
  Result<int64_t> run_consume(sqlite::Statement& st);

  sqlite::Database& db_;
  UpdateSpool* spool_;
  std::vector<int64_t>* released_;
};

}  // namespace edgefed::server
