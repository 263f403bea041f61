#include "agent/outbox/update_queue.hpp"

namespace edgefed::agent {

Result<std::string> UpdateQueue::add(const std::string& agent_id, const std::string& incarnation,
                                     int64_t base_version, int64_t now_ms, const EncodeFn& encode) {
  auto last = journal_.counter("next_update");
  if (!last) return last.status();
  const std::string update_id =
      agent_id + ":" + incarnation + ":" + std::to_string(*last + 1);
  auto body = encode(update_id);
  if (!body) return body.status();
  auto ins = db_.prepare(
      "INSERT INTO updates(update_id, base_version, created_ms, size, body) "
      "VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!ins) return ins.status();
  ins->bind(1, update_id).bind(2, base_version).bind(3, now_ms);
  ins->bind(4, static_cast<int64_t>(body->size())).bind_blob(5, *body);
  EDGEFED_RETURN_IF_ERROR(ins->run());
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter("next_update", 1));
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter("updates_created", 1));
  return update_id;
}

Result<std::vector<PendingUpdate>> UpdateQueue::oldest(size_t max_count) {
  auto stmt = db_.prepare(
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

Status UpdateQueue::mark_sent(const std::string& update_id) {
  auto stmt = db_.prepare("UPDATE updates SET attempts = attempts + 1 WHERE update_id = ?1");
  if (!stmt) return stmt.status();
  stmt->bind(1, update_id);
  EDGEFED_RETURN_IF_ERROR(stmt->run());
  return journal_.add_counter("updates_sent", 1);
}

Result<bool> UpdateQueue::finish(const std::string& update_id, const char* counter_name,
                                 std::string_view outcome, int64_t now_ms, const UpdateAck* ack,
                                 std::string_view detail) {
  auto del = db_.prepare("DELETE FROM updates WHERE update_id = ?1");
  if (!del) return del.status();
  del->bind(1, update_id);
  EDGEFED_RETURN_IF_ERROR(del->run());
  if (db_.changes() == 0) return false;  // already finished: nothing to count
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter(counter_name, 1));
  if (ack && ack->duplicate) EDGEFED_RETURN_IF_ERROR(journal_.add_counter("updates_duplicate", 1));
  EDGEFED_RETURN_IF_ERROR(journal_.add_row("update", update_id, outcome, now_ms, ack, detail));
  return true;
}

Result<int64_t> UpdateQueue::count_on(int64_t base_version) {
  auto stmt = db_.prepare("SELECT COUNT(*) FROM updates WHERE base_version = ?1");
  if (!stmt) return stmt.status();
  stmt->bind(1, base_version);
  auto row = stmt->step();
  if (!row) return row.status();
  return stmt->column_int(0);
}

}  // namespace edgefed::agent
