#include "server/store/channel_table.hpp"

#include <cstdlib>

namespace edgefed::server {

Result<bool> ChannelTable::add_validation(const ValidationRow& r) {
  auto st = db_.cached(
      "INSERT OR IGNORE INTO version_validations(version, agent, metric, value, serving_value, samples, cohort, "
      "ts_unix_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  s.bind(1, r.version).bind(2, r.agent).bind(3, r.metric).bind(4, r.value).bind(5, r.serving_value);
  s.bind(6, r.samples).bind(7, int64_t{r.cohort ? 1 : 0}).bind(8, r.ts_unix_ms);
  Status res = s.run();
  s.reset();
  if (!res.is_ok()) return res;
  return db_.changes() > 0;
}

Result<std::map<int64_t, ValidationSums>> ChannelTable::sums() {
  auto st = db_.cached(
      "SELECT version, metric, count(*), sum(cohort), sum(samples), sum(value * samples), "
      "sum(serving_value * samples) FROM version_validations WHERE samples > 0 GROUP BY version, metric "
      "ORDER BY version, count(*)");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  std::map<int64_t, ValidationSums> out;
  for (;;) {
    auto row = s.step();
    if (!row.is_ok()) return row.status();
    if (!*row) break;
    // A version validated under two metrics (its task changed in between,
    // which cannot happen for one version): the larger group wins.
    ValidationSums v;
    v.metric = s.column_text(1);
    v.agents = s.column_int(2);
    v.cohort_agents = s.column_int(3);
    v.samples = s.column_int(4);
    v.value_x_samples = s.column_double(5);
    v.serving_x_samples = s.column_double(6);
    out[s.column_int(0)] = v;
  }
  s.reset();
  return out;
}

Status ChannelTable::set_channel(int64_t version, const std::string& channel, int64_t now_unix_ms,
                                 const std::string& reason) {
  auto st = db_.cached(
      "INSERT INTO version_channels(version, channel, changed_unix_ms, reason) VALUES(?1, ?2, ?3, ?4) "
      "ON CONFLICT(version) DO UPDATE SET channel = ?2, changed_unix_ms = ?3, reason = ?4");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, version).bind(2, channel).bind(3, now_unix_ms).bind(4, reason);
  Status r = (*st)->run();
  (*st)->reset();
  return r;
}

Result<std::map<int64_t, ChannelRow>> ChannelTable::channels() {
  auto st = db_.cached("SELECT version, channel, changed_unix_ms, reason FROM version_channels ORDER BY version");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  std::map<int64_t, ChannelRow> out;
  for (;;) {
    auto row = s.step();
    if (!row.is_ok()) return row.status();
    if (!*row) break;
    out[s.column_int(0)] = {s.column_text(1), s.column_int(2), s.column_text(3)};
  }
  s.reset();
  return out;
}

Status ChannelTable::set_pointer(const std::string& key, std::optional<int64_t> value) {
  auto st = value ? db_.cached("INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2")
                  : db_.cached("DELETE FROM meta WHERE key = ?1");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, key);
  if (value) (*st)->bind(2, std::to_string(*value));
  Status r = (*st)->run();
  (*st)->reset();
  return r;
}

Result<std::optional<int64_t>> ChannelTable::pointer(const std::string& key) {
  auto st = db_.cached("SELECT value FROM meta WHERE key = ?1");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, key);
  auto row = (*st)->step();
  if (!row.is_ok()) return row.status();
  std::optional<int64_t> out;
  if (*row) {
    const std::string text = (*st)->column_text(0);
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (end && *end == '\0' && !text.empty()) out = v;
  }
  (*st)->reset();
  return out;
}

}  // namespace edgefed::server
