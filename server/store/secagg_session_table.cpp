#include "server/store/secagg_session_table.hpp"

namespace edgefed::server {

// The two upserts touch disjoint columns: the coordinator saves snapshots
// while the engine describes the session, and neither may undo the other's
// write when they race on two connections.
Status SecAggSessionTable::put_info(const std::string& session, const std::string& info_json, int64_t now_unix_ms) {
  auto st = db_.cached(
      "INSERT INTO secagg_sessions(session, info, updated_unix_ms) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(session) DO UPDATE SET info = ?2, updated_unix_ms = ?3");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, session).bind(2, info_json).bind(3, now_unix_ms);
  Status r = (*st)->run();
  (*st)->reset();
  return r;
}

Status SecAggSessionTable::put_snapshot(const std::string& session, std::span<const uint8_t> snapshot,
                                        int64_t now_unix_ms) {
  auto st = db_.cached(
      "INSERT INTO secagg_sessions(session, snapshot, updated_unix_ms) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(session) DO UPDATE SET snapshot = ?2, updated_unix_ms = ?3");
  if (!st.is_ok()) return st.status();
  // bind_blob does not copy: the reset below ends the statement's use of
  // `snapshot` before this call returns.
  (*st)->bind(1, session).bind_blob(2, snapshot).bind(3, now_unix_ms);
  Status r = (*st)->run();
  (*st)->reset();
  return r;
}

Status SecAggSessionTable::erase(const std::string& session) {
  auto st = db_.cached("DELETE FROM secagg_sessions WHERE session = ?1");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, session);
  Status r = (*st)->run();
  (*st)->reset();
  return r;
}

Result<std::vector<SecAggSessionRow>> SecAggSessionTable::list() {
  auto st = db_.cached("SELECT session, info, snapshot, updated_unix_ms FROM secagg_sessions ORDER BY session");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  std::vector<SecAggSessionRow> out;
  for (;;) {
    auto row = s.step();
    if (!row.is_ok()) {
      s.reset();
      return row.status();
    }
    if (!*row) break;
    SecAggSessionRow r;
    r.session = s.column_text(0);
    r.info = s.column_text(1);
    const auto blob = s.column_blob(2);
    r.snapshot.assign(blob.begin(), blob.end());
    r.updated_unix_ms = s.column_int(3);
    out.push_back(std::move(r));
  }
  s.reset();
  return out;
}

}  // namespace edgefed::server
