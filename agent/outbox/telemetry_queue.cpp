#include "agent/outbox/telemetry_queue.hpp"

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

namespace edgefed::agent {
namespace {

// A queued record's body is the record's one JSON form (protocol.hpp), the
// form it has in a batch and in the server's store.
TelemetryRecord record_from_json(int64_t seq, const std::string& text) {
  // Rows written before the body carried seq hold {"ts_ms","kind","values",
  // "labels"}: the seq column completes them. The column is the authority.
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) j["seq"] = seq;
  auto r = parse_telemetry_record(j);
  if (r) return std::move(r).value();
  // A damaged row still yields a record with its seq, so acks move past it.
  TelemetryRecord damaged;
  damaged.seq = seq;
  return damaged;
}

}  // namespace

Result<int64_t> TelemetryQueue::add(const TelemetryRecord& record) {
  for (const auto& [k, v] : record.values)
    if (!std::isfinite(v))
      return Status(Code::kNonFinite, "outbox: telemetry value '" + k + "' is not finite");
  auto last = journal_.counter("next_seq");
  if (!last) return last.status();
  TelemetryRecord queued = record;
  queued.seq = *last + 1;
  const int64_t seq = queued.seq;
  const nlohmann::json j = to_json(queued);
  // Refused here rather than by the server, where it would cost the whole batch.
  if (auto valid = parse_telemetry_record(j); !valid) return valid.status();
  const std::string body = j.dump();
  auto ins = db_.prepare(
      "INSERT INTO telemetry(seq, ts_ms, kind, size, body) VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!ins) return ins.status();
  ins->bind(1, seq).bind(2, record.ts_ms).bind(3, record.kind);
  ins->bind(4, static_cast<int64_t>(body.size())).bind(5, body);
  EDGEFED_RETURN_IF_ERROR(ins->run());
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter("next_seq", 1));
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter("telemetry_created", 1));
  return seq;
}

Result<std::vector<TelemetryRecord>> TelemetryQueue::oldest(size_t max_records, size_t max_bytes) {
  auto stmt = db_.prepare("SELECT seq, size, body FROM telemetry ORDER BY seq LIMIT ?1");
  if (!stmt) return stmt.status();
  stmt->bind(1, static_cast<int64_t>(max_records));
  std::vector<TelemetryRecord> out;
  size_t bytes = 0;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.status();
    if (!*row) break;
    const auto size = static_cast<size_t>(stmt->column_int(1));
    if (!out.empty() && bytes + size > max_bytes) break;
    bytes += size;
    out.push_back(record_from_json(stmt->column_int(0), stmt->column_text(2)));
  }
  return out;
}

Result<int64_t> TelemetryQueue::remove_through(int64_t through, const char* counter_name,
                                               std::string_view outcome, int64_t now_ms) {
  auto range = db_.prepare("SELECT MIN(seq), MAX(seq) FROM telemetry WHERE seq <= ?1");
  if (!range) return range.status();
  range->bind(1, through);
  auto row = range->step();
  if (!row) return row.status();
  const std::string ref =
      std::to_string(range->column_int(0)) + "-" + std::to_string(range->column_int(1));
  auto del = db_.prepare("DELETE FROM telemetry WHERE seq <= ?1");
  if (!del) return del.status();
  del->bind(1, through);
  EDGEFED_RETURN_IF_ERROR(del->run());
  const int64_t n = db_.changes();
  if (n == 0) return int64_t{0};
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter(counter_name, n));
  EDGEFED_RETURN_IF_ERROR(
      journal_.add_row("telemetry", ref, outcome, now_ms, nullptr, std::to_string(n)));
  return n;
}

}  // namespace edgefed::agent
