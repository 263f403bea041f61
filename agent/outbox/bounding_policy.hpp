// The outbox's bounding policy (FORMAT.md, "When the outbox is full"): keep
// at most OutboxLimits::max_updates updates and max_telemetry records and at
// most max_bytes of payload, dropping the oldest (telemetry before updates,
// never the newest update), counting and journaling every drop, and
// reporting the drops to the server as a telemetry record of kind "dropped".
//
// Runs inside the transaction of the insert that pushed the outbox over a
// limit, so the limits hold after every committed transaction. Not
// thread-safe: Outbox serialises every call.
#pragma once

#include <cstdint>
#include <string>

#include "agent/outbox/outbox_journal.hpp"
#include "agent/outbox/outbox_types.hpp"
#include "agent/outbox/telemetry_queue.hpp"
#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

class BoundingPolicy {
 public:
  // All references must outlive the policy.
  BoundingPolicy(sqlite::Database& db, OutboxJournal& journal, TelemetryQueue& telemetry,
                 const OutboxLimits& limits)
      : db_(db), journal_(journal), telemetry_(telemetry), limits_(limits) {}

  // Drops what is over the limits; adds what it dropped to `dropped` (may be null).
  Status enforce(Dropped* dropped);
  // If records were dropped since the last report, queues one telemetry
  // record of kind "dropped" (values "updates", "telemetry" since the last
  // report, plus the "_total" figures), enforces the limits again and
  // returns true; else false, with nothing changed.
  Result<bool> report_drops(int64_t now_ms);

 private:
  Status drop_update(int64_t num, const std::string& update_id, Dropped* dropped);

  sqlite::Database& db_;
  OutboxJournal& journal_;
  TelemetryQueue& telemetry_;
  const OutboxLimits& limits_;
};

}  // namespace edgefed::agent
