#include "ledger_audit.hpp"

#include <sqlite3.h>

#include <functional>
#include <set>

namespace edgefed::sim {
namespace {

class ReadOnlyDb {
 public:
  static Result<ReadOnlyDb> open(const std::string& path) {
    ReadOnlyDb d;
    if (sqlite3_open_v2(path.c_str(), &d.db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      return Status(Code::kIo, "cannot open " + path);
    sqlite3_busy_timeout(d.db_, 5000);
    return d;
  }
  ReadOnlyDb() = default;
  ReadOnlyDb(ReadOnlyDb&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  ~ReadOnlyDb() {
    if (db_) sqlite3_close(db_);
  }
  // Runs `sql` with an optional text parameter ?1, calling row() per row.
  Status query(const char* sql, const std::string* param, const std::function<void(sqlite3_stmt*)>& row) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK)
      return Status(Code::kIo, std::string("audit query failed: ") + sqlite3_errmsg(db_));
    if (param) sqlite3_bind_text(st, 1, param->c_str(), -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return Status(Code::kIo, std::string("audit query failed: ") + sqlite3_errmsg(db_));
    return Status::ok();
  }
  Result<int64_t> scalar(const char* sql) {
    int64_t v = 0;
    EDGEFED_RETURN_IF_ERROR(query(sql, nullptr, [&](sqlite3_stmt* s) { v = sqlite3_column_int64(s, 0); }));
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string text(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? p : "";
}

// Telemetry acks are journaled as seq ranges "FIRST-LAST".
void add_range(const std::string& ref, std::set<int64_t>& out) {
  const auto dash = ref.find('-');
  if (dash == std::string::npos) return;
  const int64_t a = std::stoll(ref.substr(0, dash)), b = std::stoll(ref.substr(dash + 1));
  for (int64_t s = a; s <= b && b - a < 10'000'000; ++s) out.insert(s);
}

template <typename T>
int64_t missing_from(const std::set<T>& wanted, const std::set<T>& have) {
  int64_t n = 0;
  for (const auto& x : wanted) n += have.count(x) ? 0 : 1;
  return n;
}

}  // namespace

Result<AuditResult> audit_ledger(const std::string& server_db, const std::string& agents_dir,
                                 const std::vector<std::string>& agent_ids) {
  auto server = ReadOnlyDb::open(server_db);
  if (!server) return server.status();
  AuditResult r;
  auto merged = server->scalar("SELECT COUNT(*) FROM ledger WHERE consumed_by_version IS NOT NULL");
  auto in_versions = server->scalar("SELECT COALESCE(SUM(num_updates), 0) FROM versions");
  auto samples = server->scalar(
      "SELECT COALESCE(SUM(num_samples), 0) FROM ledger WHERE consumed_by_version IS NOT NULL");
  if (!merged) return merged.status();
  if (!in_versions) return in_versions.status();
  if (!samples) return samples.status();
  r.merged = *merged;
  r.samples_merged = *samples;
  // A version that claims more merged updates than the ledger consumed merged
  // something twice.
  if (*in_versions > *merged) r.double_counted += *in_versions - *merged;

  for (const auto& id : agent_ids) {
    std::set<std::string> acked_ids, stored_ids;
    std::set<int64_t> acked_seqs, stored_seqs;
    int64_t stored_rows = 0, stored_tel_rows = 0;
    auto agent_db = ReadOnlyDb::open(agents_dir + "/" + id + "/outbox.db");
    if (!agent_db) return agent_db.status();
    EDGEFED_RETURN_IF_ERROR(agent_db->query(
        "SELECT kind, ref FROM journal WHERE outcome = 'acked'", nullptr, [&](sqlite3_stmt* s) {
          if (text(s, 0) == "update") acked_ids.insert(text(s, 1));
          else if (text(s, 0) == "telemetry") add_range(text(s, 1), acked_seqs);
        }));
    EDGEFED_RETURN_IF_ERROR(server->query("SELECT update_id FROM ledger WHERE agent = ?1", &id,
                                          [&](sqlite3_stmt* s) {
                                            stored_ids.insert(text(s, 0));
                                            ++stored_rows;
                                          }));
    EDGEFED_RETURN_IF_ERROR(server->query("SELECT seq FROM telemetry WHERE agent = ?1", &id,
                                          [&](sqlite3_stmt* s) {
                                            stored_seqs.insert(sqlite3_column_int64(s, 0));
                                            ++stored_tel_rows;
                                          }));
    r.server_updates += stored_rows;
    r.server_telemetry += stored_tel_rows;
    r.acked_updates += static_cast<int64_t>(acked_ids.size());
    r.acked_telemetry += static_cast<int64_t>(acked_seqs.size());
    r.lost += missing_from(acked_ids, stored_ids) + missing_from(acked_seqs, stored_seqs);
    r.unconfirmed += missing_from(stored_ids, acked_ids) + missing_from(stored_seqs, acked_seqs);
    // The schema's UNIQUE keys forbid these; counted anyway, this is the audit.
    r.double_counted += stored_rows - static_cast<int64_t>(stored_ids.size());
    r.double_counted += stored_tel_rows - static_cast<int64_t>(stored_seqs.size());
  }
  return r;
}

}  // namespace edgefed::sim
