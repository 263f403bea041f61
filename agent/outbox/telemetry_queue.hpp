// The outbox's queue of telemetry records waiting for the server's ack
// (table `telemetry`, oldest first by `seq`). Each row holds the record's one
// JSON form (protocol.hpp), the form it has in a batch and in the server's
// store. FORMAT.md, "Tables" and "Identity".
//
// Writes run inside the caller's transaction and keep the journal's counters
// in step (OutboxJournal). Not thread-safe: Outbox serialises every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "agent/outbox/outbox_journal.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

class TelemetryQueue {
 public:
  // `db` and `journal` must outlive the queue.
  TelemetryQueue(sqlite::Database& db, OutboxJournal& journal) : db_(db), journal_(journal) {}

  // Stores a record (its seq field is ignored) under the next seq, which is
  // returned. kInvalidArgument for a record a batch could not carry,
  // kNonFinite for NaN/Inf values; nothing is stored then.
  Result<int64_t> add(const TelemetryRecord& record);
  // Oldest first, at most max_records and (but at least one) max_bytes of JSON.
  Result<std::vector<TelemetryRecord>> oldest(size_t max_records, size_t max_bytes);
  // Deletes every record with seq <= through, counts them under
  // `counter_name` and journals the seq range with `outcome`. Returns how
  // many were deleted (0: nothing changed).
  Result<int64_t> remove_through(int64_t through, const char* counter_name, std::string_view outcome,
                                 int64_t now_ms);

 private:
  sqlite::Database& db_;
  OutboxJournal& journal_;
};

}  // namespace edgefed::agent
