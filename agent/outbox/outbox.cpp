#include "agent/outbox/outbox.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cctype>
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
CREATE TABLE IF NOT EXISTS secagg_rounds(
  slot INTEGER PRIMARY KEY CHECK (slot = 1), session TEXT NOT NULL UNIQUE,
  base_version INTEGER NOT NULL, num_samples INTEGER NOT NULL, train_loss REAL NOT NULL,
  snapshot BLOB NOT NULL, delta BLOB NOT NULL, created_unix_ms INTEGER NOT NULL,
  dp_sigma REAL NOT NULL DEFAULT 0);
)sql";

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

bool plausible_agent_id(std::string_view id) {
  if (id.empty() || id.size() > 64 || !std::isalnum(static_cast<unsigned char>(id[0])))
    return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

}  // namespace

Outbox::Outbox(OutboxOptions options, std::unique_ptr<sqlite::Database> db)
    : options_(std::move(options)),
      db_(std::move(db)),
      journal_(*db_),
      updates_(*db_, journal_),
      telemetry_(*db_, journal_),
      secagg_rounds_(*db_, journal_),
      bounding_policy_(*db_, journal_, telemetry_, options_.limits) {}

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
  return OutboxJournal::read_file(path, outcome);
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

// ---- the queues: each mutating call is one transaction ----

Result<std::string> Outbox::add_update(const std::string& agent_id, int64_t base_version,
                                       int64_t now_ms, const EncodeFn& encode, Dropped* dropped) {
  if (!plausible_agent_id(agent_id))
    return Status(Code::kInvalidArgument, "outbox: bad agent id '" + agent_id + "'");
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto update_id = updates_.add(agent_id, incarnation_, base_version, now_ms, encode);
  if (!update_id) return update_id.status();
  EDGEFED_RETURN_IF_ERROR(bounding_policy_.enforce(dropped));
  EDGEFED_RETURN_IF_ERROR(tx.commit());
  return update_id;
}

Result<int64_t> Outbox::add_telemetry(const TelemetryRecord& record, Dropped* dropped) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto seq = telemetry_.add(record);
  if (!seq) return seq.status();
  EDGEFED_RETURN_IF_ERROR(bounding_policy_.enforce(dropped));
  EDGEFED_RETURN_IF_ERROR(tx.commit());
  return *seq;
}

Result<std::vector<PendingUpdate>> Outbox::oldest_updates(size_t max_count) {
  std::lock_guard lock(mu_);
  return updates_.oldest(max_count);
}

Result<std::vector<TelemetryRecord>> Outbox::oldest_telemetry(size_t max_records,
                                                              size_t max_bytes) {
  std::lock_guard lock(mu_);
  return telemetry_.oldest(max_records, max_bytes);
}

Status Outbox::mark_update_sent(const std::string& update_id) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  EDGEFED_RETURN_IF_ERROR(updates_.mark_sent(update_id));
  return tx.commit();
}

Status Outbox::mark_telemetry_sent(int64_t records) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter("telemetry_sent", records));
  return tx.commit();
}

Status Outbox::finish_update(const std::string& update_id, const char* counter_name,
                             std::string_view outcome, int64_t now_ms, const UpdateAck* ack,
                             std::string_view detail) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto finished = updates_.finish(update_id, counter_name, outcome, now_ms, ack, detail);
  if (!finished) return finished.status();
  if (!*finished) return Status::ok();  // already finished: nothing to count
  return tx.commit();
}

Status Outbox::ack_update(const std::string& update_id, const UpdateAck& ack, int64_t now_ms) {
  return finish_update(update_id, "updates_acked", "acked", now_ms, &ack,
                       ack.duplicate ? "duplicate" : "");
}

Status Outbox::reject_update(const std::string& update_id, const Status& reason,
                             int64_t now_ms) {
  return finish_update(update_id, "updates_rejected", "rejected", now_ms, nullptr,
                       reason.to_string());
}

Result<int64_t> Outbox::delete_telemetry_through(int64_t through, const char* counter_name,
                                                 std::string_view outcome, int64_t now_ms) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto n = telemetry_.remove_through(through, counter_name, outcome, now_ms);
  if (!n) return n.status();
  if (*n == 0) return int64_t{0};
  EDGEFED_RETURN_IF_ERROR(tx.commit());
  return n;
}

Result<int64_t> Outbox::ack_telemetry(int64_t through, int64_t now_ms) {
  return delete_telemetry_through(through, "telemetry_acked", "acked", now_ms);
}

Result<int64_t> Outbox::reject_telemetry(int64_t through, int64_t now_ms) {
  return delete_telemetry_through(through, "telemetry_rejected", "rejected", now_ms);
}

Result<bool> Outbox::report_drops(int64_t now_ms) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto reported = bounding_policy_.report_drops(now_ms);
  if (!reported) return reported.status();
  if (!*reported) return false;
  EDGEFED_RETURN_IF_ERROR(tx.commit());
  return true;
}

// ---- the secure aggregation round: each mutating call is one transaction ----

Status Outbox::store_secagg_round(const SecAggRound& round) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  EDGEFED_RETURN_IF_ERROR(secagg_rounds_.store(round));
  return tx.commit();
}

Status Outbox::replace_secagg_snapshot(std::string_view session, std::span<const uint8_t> snapshot) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  EDGEFED_RETURN_IF_ERROR(secagg_rounds_.replace_snapshot(session, snapshot));
  return tx.commit();
}

Result<std::optional<SecAggRound>> Outbox::secagg_round() {
  std::lock_guard lock(mu_);
  return secagg_rounds_.read();
}

Status Outbox::end_secagg_round(std::string_view session, SecAggEnd how, std::string_view detail, int64_t now_ms) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  auto ended = secagg_rounds_.end(session, how, detail, now_ms);
  if (!ended) return ended.status();
  if (!*ended) return Status::ok();  // ended already: nothing to count
  return tx.commit();
}

// ---- reads ----

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
  return updates_.count_on(base_version);
}

Result<JournalCounts> Outbox::journal() {
  std::lock_guard lock(mu_);
  return journal_.counts();
}

Result<std::vector<std::string>> Outbox::acked_update_ids() {
  std::lock_guard lock(mu_);
  return journal_.acked_update_ids();
}

}  // namespace edgefed::agent
