#include "server/store/telemetry_table.hpp"

#include <nlohmann/json.hpp>

namespace edgefed::server {

Result<bool> TelemetryTable::insert(const std::string& agent, const TelemetryRecord& record) {
  auto st = db_.cached(
      "INSERT OR IGNORE INTO telemetry(agent, seq, ts_unix_ms, kind, json) VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!st.is_ok()) return st.status();
  // The record in its one JSON form (the agent's outbox and the wire hold the
  // same), for later analysis.
  (*st)->bind(1, agent).bind(2, record.seq).bind(3, record.ts_ms).bind(4, record.kind).bind(5, to_json(record).dump());
  Status r = (*st)->run();
  (*st)->reset();
  if (!r.is_ok()) return r;
  // INSERT OR IGNORE changed one row iff (agent, seq) was not there yet.
  return db_.changes() == 1;
}

Result<std::vector<TelemetryRecord>> TelemetryTable::insert(const std::string& agent,
                                                            std::span<const TelemetryRecord> records) {
  std::vector<TelemetryRecord> stored;
  for (const auto& record : records) {
    auto inserted = insert(agent, record);
    if (!inserted.is_ok()) return inserted.status();
    if (*inserted) stored.push_back(record);
  }
  return stored;
}

Result<int64_t> TelemetryTable::count() {
  auto st = db_.cached("SELECT count(*) FROM telemetry");
  if (!st.is_ok()) return st.status();
  return (*st)->first_int();
}

Result<std::vector<int64_t>> TelemetryTable::seqs_of(const std::string& agent) {
  auto st = db_.cached("SELECT seq FROM telemetry WHERE agent = ?1 ORDER BY seq");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, agent);
  return (*st)->all_ints();
}

}  // namespace edgefed::server
