#include "server/store/schema.hpp"

#include <string>

namespace edgefed::server {

namespace {

constexpr const char* kTables = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions(
  version INTEGER PRIMARY KEY,
  parent INTEGER,
  kind TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  layout_fingerprint TEXT NOT NULL,
  num_updates INTEGER NOT NULL,
  total_weight REAL NOT NULL,
  train_loss REAL,
  gradient_variance REAL NOT NULL,
  merge_seconds REAL NOT NULL,
  optimizer_state BLOB,
  checkpoint BLOB);
-- The versions that still hold a checkpoint (the newest few, every m-th, the
-- served ones): what VersionTable::prune visits after each merge. Without it
-- each prune read every version row since the first, a cost that grew with
-- the history (2,000 versions in: half the writer's time).
CREATE INDEX IF NOT EXISTS versions_with_checkpoint ON versions(version) WHERE checkpoint IS NOT NULL;
CREATE TABLE IF NOT EXISTS ledger(
  id INTEGER PRIMARY KEY,
  agent TEXT NOT NULL,
  update_id TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  accepted_unix_ms INTEGER NOT NULL,
  accepted_version INTEGER NOT NULL,
  base_version INTEGER NOT NULL,
  num_samples INTEGER NOT NULL,
  train_loss REAL NOT NULL,
  staleness INTEGER NOT NULL,
  weight REAL NOT NULL,
  norm2 REAL NOT NULL,
  ack TEXT NOT NULL,
  payload BLOB,
  consumed_by_version INTEGER,
  spool_offset INTEGER,
  spool_length INTEGER,
  UNIQUE(agent, update_id));
CREATE INDEX IF NOT EXISTS ledger_by_version ON ledger(consumed_by_version);
CREATE TABLE IF NOT EXISTS telemetry(
  agent TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts_unix_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY(agent, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agents(
  agent TEXT PRIMARY KEY,
  first_seen_unix_ms INTEGER NOT NULL,
  last_seen_unix_ms INTEGER NOT NULL,
  quarantined INTEGER NOT NULL DEFAULT 0,
  quarantine_reason TEXT NOT NULL DEFAULT '',
  updates INTEGER NOT NULL DEFAULT 0,
  last_staleness INTEGER NOT NULL DEFAULT 0,
  telemetry_records INTEGER NOT NULL DEFAULT 0,
  device_class TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS version_channels(
  version INTEGER PRIMARY KEY,
  channel TEXT NOT NULL,
  changed_unix_ms INTEGER NOT NULL,
  reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS version_validations(
  version INTEGER NOT NULL,
  agent TEXT NOT NULL,
  metric TEXT NOT NULL,
  value REAL NOT NULL,
  serving_value REAL NOT NULL,
  samples INTEGER NOT NULL,
  cohort INTEGER NOT NULL,
  ts_unix_ms INTEGER NOT NULL,
  PRIMARY KEY(version, agent)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS secagg_sessions(
  session TEXT PRIMARY KEY,
  info TEXT NOT NULL DEFAULT '{}',
  snapshot BLOB NOT NULL DEFAULT x'',
  updated_unix_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS relay_batches(
  id INTEGER PRIMARY KEY,
  update_id TEXT NOT NULL UNIQUE,
  base_version INTEGER NOT NULL,
  updates INTEGER NOT NULL,
  samples INTEGER NOT NULL,
  ledger_ids TEXT NOT NULL,
  body BLOB,
  created_unix_ms INTEGER NOT NULL,
  sent_unix_ms INTEGER,
  upstream_version INTEGER,
  result TEXT NOT NULL DEFAULT '');
)sql";

// Columns added after schema 1 shipped: a state file written before them
// gains them, with their defaults, when a newer server opens it (additive,
// so an older server still reads the file).
struct AddedColumn {
  const char* table;
  const char* column;
  const char* definition;
};
constexpr AddedColumn kAddedColumns[] = {
    {"agents", "device_class", "TEXT NOT NULL DEFAULT ''"},
    {"ledger", "spool_offset", "INTEGER"},
    {"ledger", "spool_length", "INTEGER"},
};

Status add_missing_columns(sqlite::Database& db) {
  for (const auto& c : kAddedColumns) {
    auto q = db.prepare(std::string("SELECT count(*) FROM pragma_table_info('") + c.table + "') WHERE name = '" +
                        c.column + "'");
    if (!q.is_ok()) return q.status();
    auto row = q->step();
    if (!row.is_ok()) return row.status();
    if (*row && q->column_int(0) > 0) continue;
    EDGEFED_RETURN_IF_ERROR(
        db.exec(std::string("ALTER TABLE ") + c.table + " ADD COLUMN " + c.column + " " + c.definition));
  }
  return Status::ok();
}

}  // namespace

Status check_schema(sqlite::Database& db) {
  auto q = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!q.is_ok()) return q.status();
  auto row = q->step();
  if (!row.is_ok()) return row.status();
  const std::string found = *row ? q->column_text(0) : "?";
  if (found != std::to_string(kSchemaVersion)) {
    return Status(Code::kUnprocessable, "state database has schema version " + found +
                                            ", this server knows " + std::to_string(kSchemaVersion));
  }
  return Status::ok();
}

Status ensure_schema(sqlite::Database& db) {
  EDGEFED_RETURN_IF_ERROR(db.begin());
  Status st = db.exec(kTables);
  if (st.is_ok()) st = add_missing_columns(db);
  if (st.is_ok()) {
    st = db.exec("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '" +
                 std::to_string(kSchemaVersion) + "')");
  }
  if (st.is_ok()) st = check_schema(db);
  if (!st.is_ok()) {
    db.rollback();
    return st;
  }
  return db.commit();
}

}  // namespace edgefed::server
