#include "agent/outbox/outbox_journal.hpp"

#include <utility>

namespace edgefed::agent {
namespace {

// Journal rows kept (the totals in `counters` are kept forever).
constexpr int64_t kJournalRows = 100000;

}  // namespace

Result<std::vector<JournalEntry>> OutboxJournal::read_file(const std::string& path, std::string_view outcome) {
  auto db = sqlite::Database::open(path, {.read_only = true});
  if (!db) return db.status();
  auto stmt = (*db)->prepare("SELECT kind, ref, outcome FROM journal WHERE outcome = ?1 ORDER BY num");
  if (!stmt) return stmt.status();
  stmt->bind(1, outcome);
  std::vector<JournalEntry> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.status();
    if (!*row) break;
    out.push_back({stmt->column_text(0), stmt->column_text(1), stmt->column_text(2)});
  }
  return out;
}

Status OutboxJournal::add_counter(const char* name, int64_t delta) {
  auto stmt = db_.prepare(
      "INSERT INTO counters(name, value) VALUES(?1, ?2) "
      "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
  if (!stmt) return stmt.status();
  stmt->bind(1, std::string_view(name)).bind(2, delta);
  return stmt->run();
}

Result<int64_t> OutboxJournal::counter(const char* name) {
  auto stmt = db_.prepare("SELECT value FROM counters WHERE name = ?1");
  if (!stmt) return stmt.status();
  stmt->bind(1, std::string_view(name));
  auto row = stmt->step();
  if (!row) return row.status();
  return *row ? stmt->column_int(0) : int64_t{0};
}

Status OutboxJournal::add_row(std::string_view kind, std::string_view ref, std::string_view outcome,
                              int64_t now_ms, const UpdateAck* ack, std::string_view detail) {
  auto stmt = db_.prepare(
      "INSERT INTO journal(kind, ref, outcome, at_ms, version, staleness, weight, detail) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!stmt) return stmt.status();
  stmt->bind(1, kind).bind(2, ref).bind(3, outcome).bind(4, now_ms).bind(8, detail);
  if (ack) stmt->bind(5, ack->version).bind(6, ack->staleness).bind(7, ack->weight);
  EDGEFED_RETURN_IF_ERROR(stmt->run());
  auto trim = db_.prepare("DELETE FROM journal WHERE num <= (SELECT MAX(num) FROM journal) - ?1");
  if (!trim) return trim.status();
  trim->bind(1, kJournalRows);
  return trim->run();
}

Result<JournalCounts> OutboxJournal::counts() {
  auto stmt = db_.prepare("SELECT name, value FROM counters");
  if (!stmt) return stmt.status();
  JournalCounts j;
  const std::pair<const char*, int64_t*> fields[] = {
      {"updates_created", &j.updates_created},     {"updates_sent", &j.updates_sent},
      {"updates_acked", &j.updates_acked},         {"updates_duplicate", &j.updates_duplicate},
      {"updates_rejected", &j.updates_rejected},   {"updates_dropped", &j.updates_dropped},
      {"telemetry_created", &j.telemetry_created}, {"telemetry_sent", &j.telemetry_sent},
      {"telemetry_acked", &j.telemetry_acked},     {"telemetry_rejected", &j.telemetry_rejected},
      {"telemetry_dropped", &j.telemetry_dropped},
      {"secagg_rounds_created", &j.secagg_rounds_created},
      {"secagg_rounds_done", &j.secagg_rounds_done},
      {"secagg_rounds_aborted", &j.secagg_rounds_aborted},
  };
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.status();
    if (!*row) break;
    const std::string name = stmt->column_text(0);
    for (const auto& [n, p] : fields)
      if (name == n) *p = stmt->column_int(1);
  }
  return j;
}

Result<std::vector<std::string>> OutboxJournal::acked_update_ids() {
  auto stmt = db_.prepare(
      "SELECT ref FROM journal WHERE kind = 'update' AND outcome = 'acked' ORDER BY num");
  if (!stmt) return stmt.status();
  std::vector<std::string> ids;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.status();
    if (!*row) break;
    ids.push_back(stmt->column_text(0));
  }
  return ids;
}

}  // namespace edgefed::agent
