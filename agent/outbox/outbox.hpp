// The agent's store-and-forward outbox: a SQLite file (WAL) holding every
// computed update and every telemetry record until the server acknowledged
// it, plus the agent's journal of what was acknowledged. On-disk format and
// the bounding policy: FORMAT.md next to this file.
//
//   auto box = Outbox::open({.path = dir + "/outbox.db"});
//   auto id = (*box)->add_update("agent-7", base_version, now_ms,
//       [&](const std::string& update_id) { return encode(update_id); });
//   for (auto& u : *(*box)->oldest_updates(8)) { post(u); (*box)->ack_update(...); }
//
// Durability: every mutating call is one SQLite transaction; when it returns
// ok the change survives SIGKILL (and, with full_sync, power loss). A crash
// mid-call leaves the outbox as before the call.
// Identity: update ids ("<agent>:<incarnation>:<n>") and telemetry seq
// numbers are allocated in the same transaction that stores the record, so
// they never change once a record exists and are never reused; the random
// incarnation makes ids from a wiped and re-created outbox distinct.
// Thread safety: all methods are thread-safe (one internal mutex).
// Failure: SQLite errors as mapped by edgefed/sqlite/error.hpp (kUnavailable
// for a full disk, a failed write or fsync, or a busy file: the call changed
// nothing and may be retried; kIo for an unusable file), kInvalidArgument for
// bad arguments, kNonFinite for NaN/Inf telemetry values. Never throws.
//
// Inside: Outbox opens the file (schema, incarnation), holds the lock and
// makes each call one transaction over its parts, one class per file pair:
// UpdateQueue and TelemetryQueue (the two queues), SecAggRoundStore (the
// secure aggregation round), OutboxJournal (counters and journal) and
// BoundingPolicy (the limits and drop reports).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/outbox/bounding_policy.hpp"
#include "agent/outbox/outbox_journal.hpp"
#include "agent/outbox/outbox_types.hpp"
#include "agent/outbox/secagg_round_store.hpp"
#include "agent/outbox/telemetry_queue.hpp"
#include "agent/outbox/update_queue.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

class Outbox {
 public:
  static Result<std::unique_ptr<Outbox>> open(const OutboxOptions& options);

  // The journal rows with `outcome` ("acked", "rejected", "dropped") of the
  // outbox file at `path`, oldest first, read without creating or changing
  // the file (an auditor's view of a stopped agent; FORMAT.md).
  static Result<std::vector<JournalEntry>> read_journal(const std::string& path, std::string_view outcome);

  // Random hex token fixed when the file was created.
  const std::string& incarnation() const { return incarnation_; }
  const OutboxLimits& limits() const { return options_.limits; }

  // Allocates the next update id, calls encode(update_id) for the body and
  // stores it, all in one transaction, then applies the bounding policy.
  // REQUIRES: valid_agent_id(agent_id). An encode failure is returned and
  // nothing is stored (the id is not consumed).
  using EncodeFn = UpdateQueue::EncodeFn;
  Result<std::string> add_update(const std::string& agent_id, int64_t base_version,
                                 int64_t now_ms, const EncodeFn& encode,
                                 Dropped* dropped = nullptr);

  // Stores a record (its seq field is ignored) under the next seq, which is
  // returned; applies the bounding policy. A record a telemetry batch could
  // not carry (parse_telemetry_record refuses it) is kInvalidArgument and is
  // not stored; NaN/Inf values are kNonFinite.
  Result<int64_t> add_telemetry(const TelemetryRecord& record, Dropped* dropped = nullptr);

  // Oldest first.
  Result<std::vector<PendingUpdate>> oldest_updates(size_t max_count);
  // Oldest first, at most max_records and (but at least one) max_bytes of JSON.
  Result<std::vector<TelemetryRecord>> oldest_telemetry(size_t max_records, size_t max_bytes);

  // Counts one POST attempt of this update (journal: updates_sent).
  Status mark_update_sent(const std::string& update_id);
  // Counts records posted in one telemetry batch (journal: telemetry_sent).
  Status mark_telemetry_sent(int64_t records);

  // The server acknowledged the update: delete it and journal the ack. An
  // unknown id (already acknowledged or dropped) is ok and changes nothing.
  Status ack_update(const std::string& update_id, const UpdateAck& ack, int64_t now_ms);
  // The server refused it for good (4xx other than 429/503): delete, count.
  Status reject_update(const std::string& update_id, const Status& reason, int64_t now_ms);
  // Deletes every record with seq <= through; returns how many were deleted.
  Result<int64_t> ack_telemetry(int64_t through, int64_t now_ms);
  // The server refused records with seq <= through for good: delete, count.
  Result<int64_t> reject_telemetry(int64_t through, int64_t now_ms);

  // If the bounding policy dropped records since the last report, stores a
  // telemetry record of kind "dropped" (values "updates", "telemetry" since
  // the last report, plus the "_total" figures) and returns true.
  Result<bool> report_drops(int64_t now_ms);

  // Secure aggregation (FORMAT.md, "Secure aggregation"): the agent's one
  // current round, stored before anything of it is sent and kept until the
  // session ends. The snapshot holds key material: see FORMAT.md.
  // Stores a new round (counted: secagg_rounds_created); kConflict while
  // another one is stored.
  Status store_secagg_round(const SecAggRound& round);
  // Replaces the stored round's ClientRound snapshot (before the answer it
  // made is sent); kNotFound unless `session` is the stored round.
  Status replace_secagg_snapshot(std::string_view session, std::span<const uint8_t> snapshot);
  // The stored round, if any (kIo if its row is unreadable).
  Result<std::optional<SecAggRound>> secagg_round();
  // Deletes the round, counts its end (secagg_rounds_done / _aborted) and
  // journals it with `detail`. A session that is not stored (ended
  // already) is ok and changes nothing.
  Status end_secagg_round(std::string_view session, SecAggEnd how, std::string_view detail, int64_t now_ms);

  Result<OutboxDepth> depth();
  // Queued updates trained on model `base_version`.
  Result<int64_t> pending_updates_on(int64_t base_version);
  Result<JournalCounts> journal();
  // The ids the server acknowledged, in the order of their acks (the
  // journal keeps the newest 100,000 rows, FORMAT.md).
  Result<std::vector<std::string>> acked_update_ids();

  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

 private:
  Outbox(OutboxOptions options, std::unique_ptr<sqlite::Database> db);
  Status init_schema();
  // UpdateQueue::finish in a transaction of its own.
  Status finish_update(const std::string& update_id, const char* counter_name,
                       std::string_view outcome, int64_t now_ms, const UpdateAck* ack,
                       std::string_view detail);
  // TelemetryQueue::remove_through in a transaction of its own.
  Result<int64_t> delete_telemetry_through(int64_t through, const char* counter_name,
                                           std::string_view outcome, int64_t now_ms);

  OutboxOptions options_;
  std::mutex mu_;  // serialises every call: the parts are not thread-safe
  std::unique_ptr<sqlite::Database> db_;
  std::string incarnation_;
  OutboxJournal journal_;
  UpdateQueue updates_;
  TelemetryQueue telemetry_;
  SecAggRoundStore secagg_rounds_;
  BoundingPolicy bounding_policy_;
};

}  // namespace edgefed::agent
