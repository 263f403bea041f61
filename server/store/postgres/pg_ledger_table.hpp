// The update ledger in PostgreSQL: LedgerTable (../ledger_table.hpp) with
// the same methods, records and error codes, over a PgConnection. One row
// per accepted update, unique on (agent, update_id); the body stays in
// `payload` (bytea) until the update is merged or discarded.
// Differences from the SQLite table, none visible through its methods:
//   - ids come from an identity sequence: they grow in acceptance order but
//     a rolled back insert leaves a gap (SQLite reuses it);
//   - a duplicate (agent, update_id) is kConflict without an error in the
//     caller's transaction, which stays usable (as with SQLite);
//   - for_each_pending reads the pending rows in batches of 32 by id, each
//     batch one query: fn may use the connection between rows.
// Not thread-safe: used by the connection's one owner. Every call runs
// inside the caller's transaction if one is open.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/status.hpp"
#include "server/store/ledger_store.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class PgLedgerTable final : public LedgerStore {
 public:
  explicit PgLedgerTable(PgConnection& conn) : conn_(conn) {}

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
  PgConnection& conn_;
};

}  // namespace edgefed::server
