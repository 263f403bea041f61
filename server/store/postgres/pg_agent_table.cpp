#include "server/store/postgres/pg_agent_table.hpp"

#include "server/store/postgres/pg_values.hpp"

namespace edgefed::server {

namespace {

Status run(Result<PgResult> res) { return res.is_ok() ? Status::ok() : res.status(); }

}  // namespace

Status PgAgentTable::touch(const std::string& agent, int64_t now_unix_ms, int64_t add_updates,
                           std::optional<int64_t> staleness, int64_t add_telemetry) {
  return run(conn_.query(
      "INSERT INTO agents AS a(agent, first_seen_unix_ms, last_seen_unix_ms, updates, last_staleness, "
      "telemetry_records) VALUES($1, $2::bigint, $2::bigint, $3::bigint, COALESCE($4::bigint, 0), $5::bigint) "
      "ON CONFLICT (agent) DO UPDATE SET last_seen_unix_ms = GREATEST(a.last_seen_unix_ms, $2::bigint), "
      "updates = a.updates + $3::bigint, last_staleness = COALESCE($4::bigint, a.last_staleness), "
      "telemetry_records = a.telemetry_records + $5::bigint",
      {PgParam::text(agent), PgParam::int64(now_unix_ms), PgParam::int64(add_updates),
       staleness ? PgParam::int64(*staleness) : PgParam::null(), PgParam::int64(add_telemetry)}));
}

Status PgAgentTable::set_quarantine(const std::string& agent, bool quarantined, const std::string& reason,
                                    int64_t now_unix_ms) {
  return run(conn_.query(
      "INSERT INTO agents AS a(agent, first_seen_unix_ms, last_seen_unix_ms, quarantined, quarantine_reason) "
      "VALUES($1, $2::bigint, $2::bigint, $3::boolean, $4) "
      "ON CONFLICT (agent) DO UPDATE SET quarantined = $3::boolean, quarantine_reason = $4",
      {PgParam::text(agent), PgParam::int64(now_unix_ms), PgParam::text(pgv::bool_text(quarantined)),
       PgParam::text(reason)}));
}

Status PgAgentTable::set_device_class(const std::string& agent, const std::string& device_class,
                                      int64_t now_unix_ms) {
  return run(conn_.query(
      "INSERT INTO agents AS a(agent, first_seen_unix_ms, last_seen_unix_ms, device_class) "
      "VALUES($1, $2::bigint, $2::bigint, $3) ON CONFLICT (agent) DO UPDATE SET device_class = $3",
      {PgParam::text(agent), PgParam::int64(now_unix_ms), PgParam::text(device_class)}));
}

Result<std::vector<AgentRecord>> PgAgentTable::load_all() {
  // COLLATE "C": byte order, as SQLite's BINARY collation.
  auto res = conn_.query(
      "SELECT agent, first_seen_unix_ms, last_seen_unix_ms, quarantined, quarantine_reason, updates, "
      "last_staleness, telemetry_records, device_class FROM agents ORDER BY agent COLLATE \"C\"");
  if (!res.is_ok()) return res.status();
  std::vector<AgentRecord> out;
  out.reserve(static_cast<size_t>(res->rows()));
  for (int i = 0; i < res->rows(); ++i) {
    AgentRecord a;
    a.agent = std::string(res->get_text(i, 0));
    a.first_seen_unix_ms = res->get_int64(i, 1);
    a.last_seen_unix_ms = res->get_int64(i, 2);
    a.quarantined = pgv::get_bool(*res, i, 3);
    a.quarantine_reason = std::string(res->get_text(i, 4));
    a.updates = res->get_int64(i, 5);
    a.last_staleness = res->get_int64(i, 6);
    a.telemetry_records = res->get_int64(i, 7);
    a.device_class = std::string(res->get_text(i, 8));
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace edgefed::server
