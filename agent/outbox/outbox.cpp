// Outbox: opening, schema, counters and the journal. The queue operations
// live in outbox_queue.cpp, the bounding policy in outbox_limits.cpp.
#include "agent/outbox/outbox.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <random>

#include "edgefed/sqlite/transaction.hpp"

namespace edgefed::agent {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS updates(
  num INTEGER PRIMARY KEY, update_id TEXT NOT NULL UNIQUE, base_version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS telemetry(
  seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL,
  size INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal(
  num INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, ref TEXT NOT NULL,
  outcome TEXT NOT NULL, at_ms INTEGER NOT NULL, version INTEGER, staleness INTEGER,
  weight REAL, detail TEXT);
)sql";

// Journal rows kept (the totals in `counters` are kept forever).
constexpr int64_t kJournalRows = 100000;

std::string random_hex(size_t bytes) {
  std::array<unsigned char, 32> buf{};
  bytes = std::min(bytes, buf.size());
  bool ok = false;
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ok = ::read(fd, buf.data(), bytes) == static_cast<ssize_t>(bytes);
    ::close(fd);
  }
  if (!ok) {
    std::random_device rd;
    for (size_t i = 0; i < bytes; ++i) buf[i] = static_cast<unsigned char>(rd());
  }
  std::string out;
  char hex[3];
  for (size_t i = 0; i < bytes; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", buf[i]);
    out += hex;
  }
  return out;
}

}  // namespace

Outbox::Outbox(OutboxOptions options, std::unique_ptr<sqlite::Database> db)
    : options_(std::move(options)), db_(std::move(db)) {}

Outbox::~Outbox() = default;

Result<std::unique_ptr<Outbox>> Outbox::open(const OutboxOptions& options) {
  if (options.path.empty()) return Status(Code::kInvalidArgument, "outbox: empty path");
  if (options.limits.max_updates < 1 || options.limits.max_telemetry < 1 ||
      options.limits.max_bytes < 1)
    return Status(Code::kInvalidArgument, "outbox: limits must be >= 1");
  auto db = sqlite::Database::open(options.path, {.vfs = options.vfs});
  if (!db) return db.status();
  std::unique_ptr<Outbox> box(new Outbox(options, std::move(*db)));
  EDGEFED_RETURN_IF_ERROR(box->init_schema());
  return box;
}

Result<std::vector<JournalEntry>> Outbox::read_journal(const std::string& path, std::string_view outcome) {
  auto db = sqlite::Database::open(path, {.read_only = true});
  if (!db) return db.status();
  auto stmt = (*db)->prepare("SELECT kind, ref, outcome FROM journal WHERE outcome = ?1 ORDER BY num");
  if (!stmt) return stmt.status();
  stmt->bind(1, outcome);
  std::vector<JournalEntry> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.status();
    if (!*row) break;
    out.push_back({stmt->column_text(0), stmt->column_text(1), stmt->column_text(2)});
  }
  return out;
}

Status Outbox::init_schema() {
  EDGEFED_RETURN_IF_ERROR(db_->enable_wal());
  EDGEFED_RETURN_IF_ERROR(
      db_->exec(options_.full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  // A small page cache: an agent is meant to stay small, and a simulator runs
  // a hundred outboxes in one process.
  EDGEFED_RETURN_IF_ERROR(db_->exec("PRAGMA cache_size=-1024; PRAGMA secure_delete=OFF"));
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  EDGEFED_RETURN_IF_ERROR(db_->exec(kSchema));
  auto version = db_->query_int("SELECT CAST(value AS INTEGER) FROM meta WHERE key='schema'");
  if (!version) return version.status();
  if (*version != 0 && *version != kSchemaVersion)
    return Status(Code::kIo, "outbox " + options_.path + ": unknown schema version " +
                                 std::to_string(*version));
  auto get = db_->prepare("SELECT value FROM meta WHERE key='incarnation'");
  if (!get) return get.status();
  auto row = get->step();
  if (!row) return row.status();
  if (*row) {
    incarnation_ = get->column_text(0);
  } else {
    incarnation_ = random_hex(4);
    auto put = db_->prepare(
        "INSERT INTO meta(key, value) VALUES('incarnation', ?1), ('schema', ?2)");
    if (!put) return put.status();
    put->bind(1, incarnation_).bind(2, std::to_string(kSchemaVersion));
    EDGEFED_RETURN_IF_ERROR(put->run());
  }
  return tx.commit();
}

Status Outbox::add_counter(const char* name, int64_t delta) {
  auto stmt = db_->prepare(
      "INSERT INTO counters(name, value) VALUES(?1, ?2) "
      "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
  if (!stmt) return stmt.status();
  stmt->bind(1, std::string_view(name)).bind(2, delta);
  return stmt->run();
}

Result<int64_t> Outbox::counter(const char* name) {
  auto stmt = db_->prepare("SELECT value FROM counters WHERE name = ?1");
  if (!stmt) return stmt.status();
  stmt->bind(1, std::string_view(name));
  auto row = stmt->step();
  if (!row) return row.status();
  return *row ? stmt->column_int(0) : int64_t{0};
}

Status Outbox::journal_row(std::string_view kind, std::string_view ref, std::string_view outcome,
                           int64_t now_ms, const UpdateAck* ack, std::string_view detail) {
  auto stmt = db_->prepare(
      "INSERT INTO journal(kind, ref, outcome, at_ms, version, staleness, weight, detail) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!stmt) return stmt.status();
  stmt->bind(1, kind).bind(2, ref).bind(3, outcome).bind(4, now_ms).bind(8, detail);
  if (ack) stmt->bind(5, ack->version).bind(6, ack->staleness).bind(7, ack->weight);
  EDGEFED_RETURN_IF_ERROR(stmt->run());
  auto trim = db_->prepare("DELETE FROM journal WHERE num <= (SELECT MAX(num) FROM journal) - ?1");
  if (!trim) return trim.status();
  trim->bind(1, kJournalRows);
  return trim->run();
}

Result<OutboxDepth> Outbox::depth() {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "SELECT (SELECT COUNT(*) FROM updates), (SELECT COUNT(*) FROM telemetry), "
      "(SELECT TOTAL(size) FROM updates) + (SELECT TOTAL(size) FROM telemetry)");
  if (!stmt) return stmt.status();
  auto row = stmt->step();
  if (!row) return row.status();
  OutboxDepth d;
  d.updates = stmt->column_int(0);
  d.telemetry = stmt->column_int(1);
  d.bytes = static_cast<int64_t>(stmt->column_double(2));
  return d;
}

Result<int64_t> Outbox::pending_updates_on(int64_t base_version) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare("SELECT COUNT(*) FROM updates WHERE base_version = ?1");
  if (!stmt) return stmt.status();
  stmt->bind(1, base_version);
  auto row = stmt->step();
  if (!row) return row.status();
  return stmt->column_int(0);
}

Result<JournalCounts> Outbox::journal() {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare("SELECT name, value FROM counters");
  if (!stmt) return stmt.status();
  JournalCounts j;
  const std::pair<const char*, int64_t*> fields[] = {
      {"updates_created", &j.updates_created},     {"updates_sent", &j.updates_sent},
      {"updates_acked", &j.updates_acked},         {"updates_duplicate", &j.updates_duplicate},
      {"updates_rejected", &j.updates_rejected},   {"updates_dropped", &j.updates_dropped},
      {"telemetry_created", &j.telemetry_created}, {"telemetry_sent", &j.telemetry_sent},
      {"telemetry_acked", &j.telemetry_acked},     {"telemetry_rejected", &j.telemetry_rejected},
      {"telemetry_dropped", &j.telemetry_dropped},
  };
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.status();
    if (!*row) break;
    const std::string name = stmt->column_text(0);
    for (const auto& [n, p] : fields)
      if (name == n) *p = stmt->column_int(1);
  }
  return j;
}

Result<std::vector<std::string>> Outbox::acked_update_ids() {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "SELECT ref FROM journal WHERE kind = 'update' AND outcome = 'acked' ORDER BY num");
  if (!stmt) return stmt.status();
  std::vector<std::string> ids;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.status();
    if (!*row) break;
    ids.push_back(stmt->column_text(0));
  }
  return ids;
}

}  // namespace edgefed::agent
