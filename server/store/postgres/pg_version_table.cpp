#include "server/store/postgres/pg_version_table.hpp"

#include "server/store/postgres/pg_values.hpp"

namespace edgefed::server {

namespace {

// Doubles as text casts, so that binary results (bytea without the hex
// round trip) read them like text ones.
constexpr const char* kVersionColumns =
    "version, parent, kind, created_unix_ms, layout_fingerprint, num_updates, total_weight::text, "
    "train_loss::text, gradient_variance::text, merge_seconds::text, optimizer_state";

VersionRecord read_record(const PgResult& r, int row) {
  VersionRecord v;
  v.version = r.get_int64(row, 0);
  if (!r.is_null(row, 1)) v.parent = r.get_int64(row, 1);
  v.kind = std::string(r.get_text(row, 2));
  v.created_unix_ms = r.get_int64(row, 3);
  v.layout_fingerprint = std::string(r.get_text(row, 4));
  v.num_updates = r.get_int64(row, 5);
  v.total_weight = pgv::get_double(r, row, 6);
  if (!r.is_null(row, 7)) v.train_loss = pgv::get_double(r, row, 7);
  v.gradient_variance = pgv::get_double(r, row, 8);
  v.merge_seconds = pgv::get_double(r, row, 9);
  v.optimizer_state = r.get_bytes(row, 10);
  return v;
}

Result<std::vector<VersionRecord>> read_records(Result<PgResult> res) {
  if (!res.is_ok()) return res.status();
  std::vector<VersionRecord> out;
  out.reserve(static_cast<size_t>(res->rows()));
  for (int i = 0; i < res->rows(); ++i) out.push_back(read_record(*res, i));
  return out;
}

}  // namespace

Status PgVersionTable::insert(const VersionRecord& v, std::span<const uint8_t> checkpoint) {
  auto res = conn_.query(
      "INSERT INTO versions(version, parent, kind, created_unix_ms, layout_fingerprint, num_updates, total_weight, "
      "train_loss, gradient_variance, merge_seconds, optimizer_state, checkpoint) "
      "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (version) DO NOTHING",
      {PgParam::int64(v.version), v.parent ? PgParam::int64(*v.parent) : PgParam::null(), PgParam::text(v.kind),
       PgParam::int64(v.created_unix_ms), PgParam::text(v.layout_fingerprint), PgParam::int64(v.num_updates),
       PgParam::text(pgv::double_text(v.total_weight)),
       v.train_loss ? PgParam::text(pgv::double_text(*v.train_loss)) : PgParam::null(),
       PgParam::text(pgv::double_text(v.gradient_variance)), PgParam::text(pgv::double_text(v.merge_seconds)),
       PgParam::bytes(v.optimizer_state), PgParam::bytes(checkpoint)});
  if (!res.is_ok()) return res.status();
  if (res->rows_affected() == 0) {
    return Status(Code::kConflict, "postgres: versions: version " + std::to_string(v.version) + " exists");
  }
  return Status::ok();
}

Result<std::optional<VersionRecord>> PgVersionTable::newest() {
  auto res = conn_.query(std::string("SELECT ") + kVersionColumns + " FROM versions ORDER BY version DESC LIMIT 1", {},
                         PgFormat::kBinary);
  if (!res.is_ok()) return res.status();
  std::optional<VersionRecord> out;
  if (res->rows() > 0) out = read_record(*res, 0);
  return out;
}

Result<std::optional<std::string>> PgVersionTable::checkpoint(int64_t version) {
  auto res = conn_.query("SELECT checkpoint FROM versions WHERE version = $1 AND checkpoint IS NOT NULL",
                         {PgParam::int64(version)}, PgFormat::kBinary);
  if (!res.is_ok()) return res.status();
  std::optional<std::string> out;
  if (res->rows() > 0) out = res->get_bytes(0, 0);
  return out;
}

Result<int64_t> PgVersionTable::prune(int64_t newest, int64_t keep_last_n, int64_t keep_every_m) {
  // GREATEST keeps the modulo defined when keep_every_m <= 0 (PostgreSQL
  // does not promise to evaluate OR left to right).
  auto res = conn_.query(
      "UPDATE versions SET checkpoint = NULL WHERE checkpoint IS NOT NULL AND version <= $1 "
      "AND ($2::bigint <= 0 OR version % GREATEST($2::bigint, 1) <> 0) "
      // The versions the fleet serves stay fetchable (GET /v1/versions/{N}/model).
      "AND version NOT IN (SELECT value::bigint FROM meta WHERE key IN ('stable_version', 'canary_version'))",
      {PgParam::int64(newest - keep_last_n), PgParam::int64(keep_every_m)});
  if (!res.is_ok()) return res.status();
  return res->rows_affected();
}

Result<std::vector<VersionRecord>> PgVersionTable::history(int64_t limit) {
  // LIMIT NULL is no limit, as SQLite's negative LIMIT (PostgreSQL refuses
  // a negative one).
  return read_records(conn_.query(std::string("SELECT * FROM (SELECT ") + kVersionColumns +
                                      " FROM versions ORDER BY version DESC LIMIT $1) AS newest ORDER BY version",
                                  {limit >= 0 ? PgParam::int64(limit) : PgParam::null()}, PgFormat::kBinary));
}

Result<std::vector<int64_t>> PgVersionTable::checkpointed() {
  auto res = conn_.query("SELECT version FROM versions WHERE checkpoint IS NOT NULL ORDER BY version");
  if (!res.is_ok()) return res.status();
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(res->rows()));
  for (int i = 0; i < res->rows(); ++i) out.push_back(res->get_int64(i, 0));
  return out;
}

Result<int64_t> PgVersionTable::updates_claimed() {
  auto res = conn_.query("SELECT COALESCE(SUM(num_updates), 0)::bigint FROM versions");
  if (!res.is_ok()) return res.status();
  return res->get_int64(0, 0);
}

}  // namespace edgefed::server
