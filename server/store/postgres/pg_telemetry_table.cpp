#include "server/store/postgres/pg_telemetry_table.hpp"

#include <nlohmann/json.hpp>

namespace edgefed::server {

Result<bool> PgTelemetryTable::insert(const std::string& agent, const TelemetryRecord& record) {
  // The record in its one JSON form (the agent's outbox and the wire hold
  // the same), for later analysis.
  const std::string json = to_json(record).dump();
  auto res = conn_.query(
      "INSERT INTO telemetry(agent, seq, ts_unix_ms, kind, json) VALUES($1, $2, $3, $4, $5) "
      "ON CONFLICT (agent, seq) DO NOTHING",
      {PgParam::text(agent), PgParam::int64(record.seq), PgParam::int64(record.ts_ms), PgParam::text(record.kind),
       PgParam::text(json)});
  if (!res.is_ok()) return res.status();
  // One row inserted iff (agent, seq) was not there yet.
  return res->rows_affected() == 1;
}

Result<std::vector<TelemetryRecord>> PgTelemetryTable::insert(const std::string& agent,
                                                              std::span<const TelemetryRecord> records) {
  std::vector<TelemetryRecord> stored;
  for (const auto& record : records) {
    auto inserted = insert(agent, record);
    if (!inserted.is_ok()) return inserted.status();
    if (*inserted) stored.push_back(record);
  }
  return stored;
}

Result<int64_t> PgTelemetryTable::count() {
  auto res = conn_.query("SELECT count(*) FROM telemetry");
  if (!res.is_ok()) return res.status();
  return res->get_int64(0, 0);
}

Result<std::vector<int64_t>> PgTelemetryTable::seqs_of(const std::string& agent) {
  auto res = conn_.query("SELECT seq FROM telemetry WHERE agent = $1 ORDER BY seq", {PgParam::text(agent)});
  if (!res.is_ok()) return res.status();
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(res->rows()));
  for (int i = 0; i < res->rows(); ++i) out.push_back(res->get_int64(i, 0));
  return out;
}

}  // namespace edgefed::server
