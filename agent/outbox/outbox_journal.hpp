// The outbox file's accounting: the `counters` table (the JournalCounts
// totals, the update id and telemetry seq allocators, the drops not yet
// reported) and the `journal` table (what happened to each record; the newest
// 100,000 rows are kept). FORMAT.md, "Journal".
//
// Writes run inside the caller's transaction. Not thread-safe: Outbox
// serialises every call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/outbox/outbox_types.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

class OutboxJournal {
 public:
  // `db` must outlive the journal.
  explicit OutboxJournal(sqlite::Database& db) : db_(db) {}

  // The journal rows with `outcome` of the outbox file at `path`, oldest
  // first, read without creating or changing the file (Outbox::read_journal).
  static Result<std::vector<JournalEntry>> read_file(const std::string& path, std::string_view outcome);

  // counters[name] += delta (a missing counter counts as 0).
  Status add_counter(const char* name, int64_t delta);
  Result<int64_t> counter(const char* name);
  // Appends a journal row (ack: version, staleness and weight of an update's
  // ack) and trims the journal to its newest rows.
  Status add_row(std::string_view kind, std::string_view ref, std::string_view outcome, int64_t now_ms,
                 const UpdateAck* ack, std::string_view detail);

  Result<JournalCounts> counts();
  // The ids of the "acked" update rows, in the order of their acks.
  Result<std::vector<std::string>> acked_update_ids();

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::agent
