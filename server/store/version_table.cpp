#include "server/store/version_table.hpp"

namespace edgefed::server {

namespace {

constexpr const char* kVersionColumns =
    "version, parent, kind, created_unix_ms, layout_fingerprint, num_updates, total_weight, train_loss, "
    "gradient_variance, merge_seconds, optimizer_state";

VersionRecord read_record(const sqlite::Statement& s) {
  VersionRecord v;
  v.version = s.column_int(0);
  if (!s.column_is_null(1)) v.parent = s.column_int(1);
  v.kind = s.column_text(2);
  v.created_unix_ms = s.column_int(3);
  v.layout_fingerprint = s.column_text(4);
  v.num_updates = s.column_int(5);
  v.total_weight = s.column_double(6);
  if (!s.column_is_null(7)) v.train_loss = s.column_double(7);
  v.gradient_variance = s.column_double(8);
  v.merge_seconds = s.column_double(9);
  auto blob = s.column_blob(10);
  v.optimizer_state.assign(blob.begin(), blob.end());
  return v;
}

}  // namespace

Status VersionTable::insert(const VersionRecord& v, std::span<const uint8_t> checkpoint) {
  auto st = db_.cached(std::string("INSERT INTO versions(") + kVersionColumns +
                       ", checkpoint) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  s.bind(1, v.version);
  if (v.parent) s.bind(2, *v.parent); else s.bind_null(2);
  s.bind(3, v.kind).bind(4, v.created_unix_ms).bind(5, v.layout_fingerprint).bind(6, v.num_updates);
  s.bind(7, v.total_weight);
  if (v.train_loss) s.bind(8, *v.train_loss); else s.bind_null(8);
  s.bind(9, v.gradient_variance).bind(10, v.merge_seconds);
  s.bind_blob(11, {reinterpret_cast<const uint8_t*>(v.optimizer_state.data()), v.optimizer_state.size()});
  s.bind_blob(12, checkpoint);
  Status r = s.run();
  s.reset();
  return r;
}

Result<std::optional<VersionRecord>> VersionTable::newest() {
  auto st = db_.cached(std::string("SELECT ") + kVersionColumns + " FROM versions ORDER BY version DESC LIMIT 1");
  if (!st.is_ok()) return st.status();
  auto row = (*st)->step();
  if (!row.is_ok()) return row.status();
  std::optional<VersionRecord> out;
  if (*row) out = read_record(**st);
  (*st)->reset();
  return out;
}

Result<std::optional<std::string>> VersionTable::checkpoint(int64_t version) {
  auto st = db_.cached("SELECT checkpoint FROM versions WHERE version = ?1 AND checkpoint IS NOT NULL");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, version);
  auto row = (*st)->step();
  if (!row.is_ok()) return row.status();
  std::optional<std::string> out;
  if (*row) {
    auto blob = (*st)->column_blob(0);
    out.emplace(blob.begin(), blob.end());
  }
  (*st)->reset();
  return out;
}

Result<int64_t> VersionTable::prune(int64_t newest, int64_t keep_last_n, int64_t keep_every_m) {
  auto st = db_.cached(
      "UPDATE versions SET checkpoint = NULL WHERE checkpoint IS NOT NULL AND version <= ?1 "
      "AND (?2 <= 0 OR version % ?2 != 0) "
      // The versions the fleet serves stay fetchable (GET /v1/versions/{N}/model).
      "AND version NOT IN (SELECT CAST(value AS INTEGER) FROM meta "
      "WHERE key IN ('stable_version', 'canary_version'))");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, newest - keep_last_n).bind(2, keep_every_m);
  Status r = (*st)->run();
  (*st)->reset();
  if (!r.is_ok()) return r;
  return db_.changes();
}

Result<std::vector<VersionRecord>> VersionTable::history(int64_t limit) {
  auto st = db_.cached(std::string("SELECT * FROM (SELECT ") + kVersionColumns +
                       " FROM versions ORDER BY version DESC LIMIT ?1) ORDER BY version");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, limit);
  std::vector<VersionRecord> out;
  for (;;) {
    auto row = (*st)->step();
    if (!row.is_ok()) return row.status();
    if (!*row) break;
    out.push_back(read_record(**st));
  }
  (*st)->reset();
  return out;
}

Result<std::vector<int64_t>> VersionTable::checkpointed() {
  auto st = db_.cached("SELECT version FROM versions WHERE checkpoint IS NOT NULL ORDER BY version");
  if (!st.is_ok()) return st.status();
  return (*st)->all_ints();
}

Result<int64_t> VersionTable::updates_claimed() {
  auto st = db_.cached("SELECT COALESCE(SUM(num_updates), 0) FROM versions");
  if (!st.is_ok()) return st.status();
  return (*st)->first_int();
}

}  // namespace edgefed::server
