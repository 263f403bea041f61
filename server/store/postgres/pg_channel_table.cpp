#include "server/store/postgres/pg_channel_table.hpp"

#include <charconv>

#include "server/store/postgres/pg_values.hpp"

namespace edgefed::server {

Result<bool> PgChannelTable::add_validation(const ValidationRow& r) {
  auto res = conn_.query(
      "INSERT INTO version_validations(version, agent, metric, value, serving_value, samples, cohort, ts_unix_ms) "
      "VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (version, agent) DO NOTHING",
      {PgParam::int64(r.version), PgParam::text(r.agent), PgParam::text(r.metric),
       PgParam::text(pgv::double_text(r.value)), PgParam::text(pgv::double_text(r.serving_value)),
       PgParam::int64(r.samples), PgParam::text(pgv::bool_text(r.cohort)), PgParam::int64(r.ts_unix_ms)});
  if (!res.is_ok()) return res.status();
  return res->rows_affected() > 0;
}

Result<std::map<int64_t, ValidationSums>> PgChannelTable::sums() {
  auto res = conn_.query(
      "SELECT version, metric, count(*), count(*) FILTER (WHERE cohort), sum(samples)::bigint, "
      "sum(value * samples), sum(serving_value * samples) FROM version_validations WHERE samples > 0 "
      "GROUP BY version, metric ORDER BY version, count(*)");
  if (!res.is_ok()) return res.status();
  std::map<int64_t, ValidationSums> out;
  for (int i = 0; i < res->rows(); ++i) {
    // A version validated under two metrics (its task changed in between,
    // which cannot happen for one version): the larger group wins.
    ValidationSums v;
    v.metric = std::string(res->get_text(i, 1));
    v.agents = res->get_int64(i, 2);
    v.cohort_agents = res->get_int64(i, 3);
    v.samples = res->get_int64(i, 4);
    v.value_x_samples = pgv::get_double(*res, i, 5);
    v.serving_x_samples = pgv::get_double(*res, i, 6);
    out[res->get_int64(i, 0)] = v;
  }
  return out;
}

Status PgChannelTable::set_channel(int64_t version, const std::string& channel, int64_t now_unix_ms,
                                   const std::string& reason) {
  auto res = conn_.query(
      "INSERT INTO version_channels(version, channel, changed_unix_ms, reason) VALUES($1, $2, $3, $4) "
      "ON CONFLICT (version) DO UPDATE SET channel = EXCLUDED.channel, changed_unix_ms = EXCLUDED.changed_unix_ms, "
      "reason = EXCLUDED.reason",
      {PgParam::int64(version), PgParam::text(channel), PgParam::int64(now_unix_ms), PgParam::text(reason)});
  return res.is_ok() ? Status::ok() : res.status();
}

Result<std::map<int64_t, ChannelRow>> PgChannelTable::channels() {
  auto res = conn_.query("SELECT version, channel, changed_unix_ms, reason FROM version_channels ORDER BY version");
  if (!res.is_ok()) return res.status();
  std::map<int64_t, ChannelRow> out;
  for (int i = 0; i < res->rows(); ++i) {
    out[res->get_int64(i, 0)] = {std::string(res->get_text(i, 1)), res->get_int64(i, 2),
                                 std::string(res->get_text(i, 3))};
  }
  return out;
}

Status PgChannelTable::set_pointer(const std::string& key, std::optional<int64_t> value) {
  auto res = value ? conn_.query("INSERT INTO meta(key, value) VALUES($1, $2) "
                                 "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                                 {PgParam::text(key), PgParam::int64(*value)})
                   : conn_.query("DELETE FROM meta WHERE key = $1", {PgParam::text(key)});
  return res.is_ok() ? Status::ok() : res.status();
}

Result<std::optional<int64_t>> PgChannelTable::pointer(const std::string& key) {
  auto res = conn_.query("SELECT value FROM meta WHERE key = $1", {PgParam::text(key)});
  if (!res.is_ok()) return res.status();
  std::optional<int64_t> out;
  if (res->rows() > 0) {
    const std::string_view text = res->get_text(0, 0);
    int64_t v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec == std::errc() && r.ptr == text.data() + text.size() && !text.empty()) out = v;
  }
  return out;
}

}  // namespace edgefed::server
