#include "server/store/relay_batch_table.hpp"

namespace edgefed::server {

Result<int64_t> RelayBatchTable::insert(const RelayBatch& b) {
  auto st = db_.cached(
      "INSERT INTO relay_batches(update_id, base_version, updates, samples, ledger_ids, body, created_unix_ms) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  s.bind(1, b.update_id).bind(2, b.base_version).bind(3, b.updates).bind(4, b.samples).bind(5, b.ledger_ids);
  s.bind_blob(6, std::string_view(b.body)).bind(7, b.created_unix_ms);
  auto row = s.step();
  if (!row.is_ok()) {
    s.reset();
    return row.status();
  }
  const int64_t id = *row ? s.column_int(0) : 0;
  Status done = s.run();
  s.reset();
  if (!done.is_ok()) return done;
  return id;
}

Result<std::vector<RelayBatch>> RelayBatchTable::unsent(int64_t limit) {
  auto st = db_.cached(
      "SELECT id, update_id, base_version, updates, samples, ledger_ids, body, created_unix_ms FROM relay_batches "
      "WHERE result = '' ORDER BY id LIMIT ?1");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  s.bind(1, limit);
  std::vector<RelayBatch> out;
  for (;;) {
    auto row = s.step();
    if (!row.is_ok()) {
      s.reset();
      return row.status();
    }
    if (!*row) break;
    RelayBatch b;
    b.id = s.column_int(0);
    b.update_id = s.column_text(1);
    b.base_version = s.column_int(2);
    b.updates = s.column_int(3);
    b.samples = s.column_int(4);
    b.ledger_ids = s.column_text(5);
    b.body = s.column_blob_string(6);
    b.created_unix_ms = s.column_int(7);
    out.push_back(std::move(b));
  }
  s.reset();
  return out;
}

Status RelayBatchTable::mark_sent(int64_t id, int64_t now_unix_ms, std::optional<int64_t> upstream_version,
                                  const std::string& result) {
  auto st = db_.cached(
      "UPDATE relay_batches SET sent_unix_ms = ?2, upstream_version = ?3, result = ?4, body = NULL WHERE id = ?1");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  s.bind(1, id).bind(2, now_unix_ms);
  if (upstream_version) s.bind(3, *upstream_version);
  else s.bind_null(3);
  s.bind(4, result);
  Status done = s.run();
  s.reset();
  return done;
}

Result<RelayBatchTable::Counts> RelayBatchTable::counts() {
  auto st = db_.cached(
      "SELECT COALESCE(SUM(result = ''), 0), COALESCE(SUM(result IN ('accepted', 'duplicate')), 0), "
      "COALESCE(SUM(result NOT IN ('', 'accepted', 'duplicate')), 0), "
      "COALESCE(SUM(CASE WHEN result IN ('accepted', 'duplicate') THEN updates ELSE 0 END), 0) FROM relay_batches");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  auto row = s.step();
  if (!row.is_ok()) {
    s.reset();
    return row.status();
  }
  Counts c;
  c.unsent = s.column_int(0);
  c.accepted = s.column_int(1);
  c.refused = s.column_int(2);
  c.updates_forwarded = s.column_int(3);
  s.reset();
  return c;
}

}  // namespace edgefed::server
