// The outbox's table `secagg_rounds`: the agent's one current secure
// aggregation round (session, base version, sample count, loss, the
// ClientRound snapshot, the raw delta), kept until the session ends so a
// restarted agent finishes it. FORMAT.md, "Secure aggregation".
//
// Writes run inside the caller's transaction and keep the journal's
// counters in step (OutboxJournal). Not thread-safe: Outbox serialises
// every call.
// Errors: kConflict when a round is stored already (store), kNotFound when
// the named round is not the stored one (replace_snapshot), kIo for a row
// that cannot be read back (a delta that is not whole float32 values),
// kInvalidArgument for bad arguments; SQLite's as mapped by sqlite/error.hpp.
// Secrets: the snapshot holds key material until the masked input is made;
// the file is 0600 like the agent's key (FORMAT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "agent/outbox/outbox_journal.hpp"
#include "agent/outbox/outbox_types.hpp"
#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

class SecAggRoundStore {
 public:
  // `db` and `journal` must outlive the store.
  SecAggRoundStore(sqlite::Database& db, OutboxJournal& journal) : db_(db), journal_(journal) {}

  // Stores a new round and counts it (secagg_rounds_created).
  Status store(const SecAggRound& round);
  // Replaces the stored round's snapshot; kNotFound unless `session` is stored.
  Status replace_snapshot(std::string_view session, std::span<const uint8_t> snapshot);
  // The stored round, if any.
  Result<std::optional<SecAggRound>> read();
  // Deletes the round of `session`, counts its end and journals it (kind
  // "secagg_round", outcome "done" or "aborted", `detail`: why). False, with
  // nothing changed, when `session` is not stored (ended already).
  Result<bool> end(std::string_view session, SecAggEnd how, std::string_view detail, int64_t now_ms);

 private:
  sqlite::Database& db_;
  OutboxJournal& journal_;
};

}  // namespace edgefed::agent
