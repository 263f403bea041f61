// Outbox: the two queues (updates, telemetry) and their acknowledgements.
#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

#include "agent/outbox/outbox.hpp"
#include "edgefed/sqlite/transaction.hpp"

namespace edgefed::agent {
namespace {

bool plausible_agent_id(std::string_view id) {
  if (id.empty() || id.size() > 64 || !std::isalnum(static_cast<unsigned char>(id[0])))
    return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

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

Result<std::string> Outbox::add_update(const std::string& agent_id, int64_t base_version,
                                       int64_t now_ms, const EncodeFn& encode, Dropped* dropped) {
  if (!plausible_agent_id(agent_id))
    return Status(Code::kInvalidArgument, "outbox: bad agent id '" + agent_id + "'");
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto last = counter("next_update");
  if (!last) return last.status();
  const std::string update_id =
      agent_id + ":" + incarnation_ + ":" + std::to_string(*last + 1);
  auto body = encode(update_id);
  if (!body) return body.status();
  auto ins = db_->prepare(
      "INSERT INTO updates(update_id, base_version, created_ms, size, body) "
      "VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!ins) return ins.status();
  ins->bind(1, update_id).bind(2, base_version).bind(3, now_ms);
  ins->bind(4, static_cast<int64_t>(body->size())).bind_blob(5, *body);
  EDGEFED_RETURN_IF_ERROR(ins->run());
  EDGEFED_RETURN_IF_ERROR(add_counter("next_update", 1));
  EDGEFED_RETURN_IF_ERROR(add_counter("updates_created", 1));
  EDGEFED_RETURN_IF_ERROR(enforce_limits(dropped));
  EDGEFED_RETURN_IF_ERROR(tx.commit());
  return update_id;
}

Result<int64_t> Outbox::insert_telemetry(const TelemetryRecord& record) {
  for (const auto& [k, v] : record.values)
    if (!std::isfinite(v))
      return Status(Code::kNonFinite, "outbox: telemetry value '" + k + "' is not finite");
  auto last = counter("next_seq");
  if (!last) return last.status();
  TelemetryRecord queued = record;
  queued.seq = *last + 1;
  const int64_t seq = queued.seq;
  const nlohmann::json j = to_json(queued);
  // Refused here rather than by the server, where it would cost the whole batch.
  if (auto valid = parse_telemetry_record(j); !valid) return valid.status();
  const std::string body = j.dump();
  auto ins = db_->prepare(
      "INSERT INTO telemetry(seq, ts_ms, kind, size, body) VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!ins) return ins.status();
  ins->bind(1, seq).bind(2, record.ts_ms).bind(3, record.kind);
  ins->bind(4, static_cast<int64_t>(body.size())).bind(5, body);
  EDGEFED_RETURN_IF_ERROR(ins->run());
  EDGEFED_RETURN_IF_ERROR(add_counter("next_seq", 1));
  EDGEFED_RETURN_IF_ERROR(add_counter("telemetry_created", 1));
  return seq;
}

Result<int64_t> Outbox::add_telemetry(const TelemetryRecord& record, Dropped* dropped) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto seq = insert_telemetry(record);
  if (!seq) return seq.status();
  EDGEFED_RETURN_IF_ERROR(enforce_limits(dropped));
  EDGEFED_RETURN_IF_ERROR(tx.commit());
  return *seq;
}

Result<std::vector<PendingUpdate>> Outbox::oldest_updates(size_t max_count) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "SELECT update_id, base_version, created_ms, attempts, body FROM updates "
      "ORDER BY num LIMIT ?1");
  if (!stmt) return stmt.status();
  stmt->bind(1, static_cast<int64_t>(max_count));
  std::vector<PendingUpdate> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.status();
    if (!*row) break;
    out.push_back({stmt->column_text(0), stmt->column_int(1), stmt->column_int(2),
                   stmt->column_int(3), stmt->column_blob_string(4)});
  }
  return out;
}

Result<std::vector<TelemetryRecord>> Outbox::oldest_telemetry(size_t max_records,
                                                              size_t max_bytes) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare("SELECT seq, size, body FROM telemetry ORDER BY seq LIMIT ?1");
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

Status Outbox::mark_update_sent(const std::string& update_id) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto stmt = db_->prepare("UPDATE updates SET attempts = attempts + 1 WHERE update_id = ?1");
  if (!stmt) return stmt.status();
  stmt->bind(1, update_id);
  EDGEFED_RETURN_IF_ERROR(stmt->run());
  EDGEFED_RETURN_IF_ERROR(add_counter("updates_sent", 1));
  return tx.commit();
}

Status Outbox::mark_telemetry_sent(int64_t records) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  EDGEFED_RETURN_IF_ERROR(add_counter("telemetry_sent", records));
  return tx.commit();
}

Status Outbox::finish_update(const std::string& update_id, const char* counter_name,
                             std::string_view outcome, int64_t now_ms, const UpdateAck* ack,
                             std::string_view detail) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto del = db_->prepare("DELETE FROM updates WHERE update_id = ?1");
  if (!del) return del.status();
  del->bind(1, update_id);
  EDGEFED_RETURN_IF_ERROR(del->run());
  if (db_->changes() == 0) return Status::ok();  // already finished: nothing to count
  EDGEFED_RETURN_IF_ERROR(add_counter(counter_name, 1));
  if (ack && ack->duplicate) EDGEFED_RETURN_IF_ERROR(add_counter("updates_duplicate", 1));
  EDGEFED_RETURN_IF_ERROR(journal_row("update", update_id, outcome, now_ms, ack, detail));
  return tx.commit();
}

Status Outbox::ack_update(const std::string& update_id, const UpdateAck& ack, int64_t now_ms) {
  return finish_update(update_id, "updates_acked", "acked", now_ms, &ack,
                       ack.duplicate ? "duplicate" : "");
}

Status Outbox::reject_update(const std::string& update_id, const Status& reason,
                             int64_t now_ms) {
  return finish_update(update_id, "updates_rejected", "rejected", now_ms, nullptr,
                       reason.to_string());
}

Result<int64_t> Outbox::delete_telemetry_through(int64_t through, const char* counter_name,
                                                 std::string_view outcome, int64_t now_ms) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto range = db_->prepare("SELECT MIN(seq), MAX(seq) FROM telemetry WHERE seq <= ?1");
  if (!range) return range.status();
  range->bind(1, through);
  auto row = range->step();
  if (!row) return row.status();
  const std::string ref =
      std::to_string(range->column_int(0)) + "-" + std::to_string(range->column_int(1));
  auto del = db_->prepare("DELETE FROM telemetry WHERE seq <= ?1");
  if (!del) return del.status();
  del->bind(1, through);
  EDGEFED_RETURN_IF_ERROR(del->run());
  const int64_t n = db_->changes();
  if (n == 0) return int64_t{0};
  EDGEFED_RETURN_IF_ERROR(add_counter(counter_name, n));
  EDGEFED_RETURN_IF_ERROR(
      journal_row("telemetry", ref, outcome, now_ms, nullptr, std::to_string(n)));
  EDGEFED_RETURN_IF_ERROR(tx.commit());
  return n;
}

Result<int64_t> Outbox::ack_telemetry(int64_t through, int64_t now_ms) {
  return delete_telemetry_through(through, "telemetry_acked", "acked", now_ms);
}

Result<int64_t> Outbox::reject_telemetry(int64_t through, int64_t now_ms) {
  return delete_telemetry_through(through, "telemetry_rejected", "rejected", now_ms);
}

Result<bool> Outbox::report_drops(int64_t now_ms) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto u = counter("unreported_dropped_updates");
  auto t = counter("unreported_dropped_telemetry");
  auto ut = counter("updates_dropped");
  auto tt = counter("telemetry_dropped");
  for (const auto* r : {&u, &t, &ut, &tt})
    if (!*r) return r->status();
  if (*u == 0 && *t == 0) return false;
  TelemetryRecord rec;
  rec.ts_ms = now_ms;
  rec.kind = "dropped";
  rec.values = {{"updates", static_cast<double>(*u)},
                {"telemetry", static_cast<double>(*t)},
                {"updates_total", static_cast<double>(*ut)},
                {"telemetry_total", static_cast<double>(*tt)}};
  auto seq = insert_telemetry(rec);
  if (!seq) return seq.status();
  EDGEFED_RETURN_IF_ERROR(add_counter("unreported_dropped_updates", -*u));
  EDGEFED_RETURN_IF_ERROR(add_counter("unreported_dropped_telemetry", -*t));
  EDGEFED_RETURN_IF_ERROR(enforce_limits(nullptr));
  EDGEFED_RETURN_IF_ERROR(tx.commit());
  return true;
}

}  // namespace edgefed::agent
