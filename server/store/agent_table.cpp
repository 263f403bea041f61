#include "server/store/agent_table.hpp"

namespace edgefed::server {

Status AgentTable::touch(const std::string& agent, int64_t now_unix_ms, int64_t add_updates,
                         std::optional<int64_t> staleness, int64_t add_telemetry) {
  auto st = db_.cached(
      "INSERT INTO agents(agent, first_seen_unix_ms, last_seen_unix_ms, updates, last_staleness, "
      "telemetry_records) VALUES(?1, ?2, ?2, ?3, coalesce(?4, 0), ?5) "
      "ON CONFLICT(agent) DO UPDATE SET last_seen_unix_ms = max(last_seen_unix_ms, ?2), "
      "updates = updates + ?3, last_staleness = coalesce(?4, last_staleness), "
      "telemetry_records = telemetry_records + ?5");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  s.bind(1, agent).bind(2, now_unix_ms).bind(3, add_updates).bind(5, add_telemetry);
  if (staleness) s.bind(4, *staleness); else s.bind_null(4);
  Status r = s.run();
  s.reset();
  return r;
}

Status AgentTable::set_quarantine(const std::string& agent, bool quarantined, const std::string& reason,
                                  int64_t now_unix_ms) {
  auto st = db_.cached(
      "INSERT INTO agents(agent, first_seen_unix_ms, last_seen_unix_ms, quarantined, quarantine_reason) "
      "VALUES(?1, ?2, ?2, ?3, ?4) "
      "ON CONFLICT(agent) DO UPDATE SET quarantined = ?3, quarantine_reason = ?4");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, agent).bind(2, now_unix_ms).bind(3, int64_t{quarantined ? 1 : 0}).bind(4, reason);
  Status r = (*st)->run();
  (*st)->reset();
  return r;
}

Status AgentTable::set_device_class(const std::string& agent, const std::string& device_class,
                                    int64_t now_unix_ms) {
  auto st = db_.cached(
      "INSERT INTO agents(agent, first_seen_unix_ms, last_seen_unix_ms, device_class) VALUES(?1, ?2, ?2, ?3) "
      "ON CONFLICT(agent) DO UPDATE SET device_class = ?3");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, agent).bind(2, now_unix_ms).bind(3, device_class);
  Status r = (*st)->run();
  (*st)->reset();
  return r;
}

Result<std::vector<AgentRecord>> AgentTable::load_all() {
  auto st = db_.cached(
      "SELECT agent, first_seen_unix_ms, last_seen_unix_ms, quarantined, quarantine_reason, updates, "
      "last_staleness, telemetry_records, device_class FROM agents ORDER BY agent");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  std::vector<AgentRecord> out;
  for (;;) {
    auto row = s.step();
    if (!row.is_ok()) return row.status();
    if (!*row) break;
    AgentRecord a;
    a.agent = s.column_text(0);
    a.first_seen_unix_ms = s.column_int(1);
    a.last_seen_unix_ms = s.column_int(2);
    a.quarantined = s.column_int(3) != 0;
    a.quarantine_reason = s.column_text(4);
    a.updates = s.column_int(5);
    a.last_staleness = s.column_int(6);
    a.telemetry_records = s.column_int(7);
    a.device_class = s.column_text(8);
    out.push_back(std::move(a));
  }
  s.reset();
  return out;
}

}  // namespace edgefed::server
