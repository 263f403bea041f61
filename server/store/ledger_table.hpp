// The update ledger: one row per accepted update, keyed by (agent,
// update_id). The request body stays in `payload` until the update is merged
// (or discarded), which is what makes a crash between ack and merge
// recoverable. Not thread-safe: used by the connection's one owner. Every
// call runs inside the caller's transaction if one is open.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class LedgerTable {
 public:
  explicit LedgerTable(sqlite::Database& db) : db_(db) {}

  // The row of (agent, update_id) without its payload, if any.
  Result<std::optional<LedgerEntry>> find(const std::string& agent, const std::string& update_id);
  // Inserts e (e.id and e.consumed_by_version are ignored) with its body.
  // kConflict if (agent, update_id) exists. Returns the new id.
  Result<int64_t> insert(const LedgerEntry& e, std::span<const uint8_t> payload);
  // Every pending row (consumed_by_version IS NULL) with its payload, in
  // acceptance order. Stops at and returns the first error of fn.
  using PendingFn = std::function<Status(const LedgerEntry&, std::span<const uint8_t> payload)>;
  Status for_each_pending(const PendingFn& fn);
  // Marks every pending row consumed by `version` (or kDiscarded) and drops
  // its payload. Returns how many rows.
  Result<int64_t> consume_pending(int64_t version);
  // The updates merged into a version, in acceptance order.
  Result<std::vector<MergedUpdate>> merged_into(int64_t version);
  Result<int64_t> count_accepted();
  Result<int64_t> count_merged();
  // Sum of num_samples over the merged rows.
  Result<int64_t> samples_merged();
  // The update ids stored for an agent, in acceptance order.
  Result<std::vector<std::string>> update_ids_of(const std::string& agent);

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
