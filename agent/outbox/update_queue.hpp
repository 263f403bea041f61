// The outbox's queue of computed updates waiting for the server's 202
// (table `updates`, oldest first by `num`). FORMAT.md, "Identity".
//
// Writes run inside the caller's transaction and keep the journal's counters
// in step (OutboxJournal). Not thread-safe: Outbox serialises every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/outbox/outbox_journal.hpp"
#include "agent/outbox/outbox_types.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

class UpdateQueue {
 public:
  using EncodeFn = std::function<Result<std::string>(const std::string& update_id)>;

  // `db` and `journal` must outlive the queue.
  UpdateQueue(sqlite::Database& db, OutboxJournal& journal) : db_(db), journal_(journal) {}

  // Allocates the next update id ("<agent>:<incarnation>:<n>"), calls
  // encode(update_id) for the body and stores it. An encode failure is
  // returned as is. REQUIRES: a plausible agent id (Outbox checks it).
  Result<std::string> add(const std::string& agent_id, const std::string& incarnation, int64_t base_version,
                          int64_t now_ms, const EncodeFn& encode);
  // Oldest first.
  Result<std::vector<PendingUpdate>> oldest(size_t max_count);
  // Counts one POST attempt of this update.
  Status mark_sent(const std::string& update_id);
  // Deletes the update, counts it under `counter_name` (and an ack that says
  // duplicate under updates_duplicate) and journals `outcome`. False, with
  // nothing changed, when the id is not queued (already finished).
  Result<bool> finish(const std::string& update_id, const char* counter_name, std::string_view outcome,
                      int64_t now_ms, const UpdateAck* ack, std::string_view detail);
  // Queued updates trained on model `base_version`.
  Result<int64_t> count_on(int64_t base_version);

 private:
  sqlite::Database& db_;
  OutboxJournal& journal_;
};

}  // namespace edgefed::agent
