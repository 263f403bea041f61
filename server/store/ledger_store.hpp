// LedgerStore: the update ledger, one row per accepted update keyed by
// (agent, update_id). The request body stays in `payload` until the update
// is merged (or discarded), which is what makes a crash between ack and
// merge recoverable. One interface, two implementations: LedgerTable
// (SQLite, ledger_table.hpp) and PgLedgerTable (PostgreSQL,
// postgres/pg_ledger_table.hpp), held to one contract by
// tests/unit/server/store/postgres/store_contract_test.cpp.
// Not thread-safe: used by its store's one owner. Every call runs inside
// the store's open transaction, if any (StateStore::begin).
// Errors: kConflict for a duplicate key; kUnavailable when the database
// cannot be reached or written now (retry); the implementation's others.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/status.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // The row of (agent, update_id) without its payload, if any.
  virtual Result<std::optional<LedgerEntry>> find(const std::string& agent, const std::string& update_id) = 0;
  // Inserts e (e.id and e.consumed_by_version are ignored) with its body.
  // kConflict if (agent, update_id) exists. Returns the new id (ascending
  // in acceptance order; PostgreSQL's may have gaps).
  virtual Result<int64_t> insert(const LedgerEntry& e, std::span<const uint8_t> payload) = 0;
  // Every pending row (consumed_by_version IS NULL) with its payload, in
  // acceptance order. Stops at and returns the first error of fn.
  using PendingFn = std::function<Status(const LedgerEntry&, std::span<const uint8_t> payload)>;
  virtual Status for_each_pending(const PendingFn& fn) = 0;
  // Marks every pending row consumed by `version` (or kDiscarded) and drops
  // its payload. Returns how many rows.
  virtual Result<int64_t> consume_pending(int64_t version) = 0;

  // ---- by id: what a merging replica needs when other replicas insert
  // rows concurrently (ids are not in commit order there: a row with a
  // smaller id may commit later) ----
  // The ids of every pending row, ascending.
  virtual Result<std::vector<int64_t>> pending_ids() = 0;
  // Those rows among `ids` (ascending) that are still pending, with their
  // payloads, in id order. Stops at and returns the first error of fn.
  virtual Status for_each_pending_of(std::span<const int64_t> ids, const PendingFn& fn) = 0;
  // Marks those rows among `ids` that are still pending consumed by
  // `version` and drops their payloads. Returns how many: fewer than ids
  // means some were consumed by someone else meanwhile (the caller must
  // not commit such a version).
  virtual Result<int64_t> consume(int64_t version, std::span<const int64_t> ids) = 0;
  // The updates merged into a version, in acceptance order.
  virtual Result<std::vector<MergedUpdate>> merged_into(int64_t version) = 0;
  virtual Result<int64_t> count_accepted() = 0;
  virtual Result<int64_t> count_merged() = 0;
  // Sum of num_samples over the merged rows.
  virtual Result<int64_t> samples_merged() = 0;
  // The update ids stored for an agent, in acceptance order.
  virtual Result<std::vector<std::string>> update_ids_of(const std::string& agent) = 0;
};

}  // namespace edgefed::server
