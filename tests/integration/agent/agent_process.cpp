#include "agent_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "edgefed/model_io.hpp"
#include "edgefed/update_codec.hpp"
#include "metrics_text.hpp"

namespace edgefed::testing {
namespace {

class ReadOnlyDb {
 public:
  explicit ReadOnlyDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~ReadOnlyDb() { sqlite3_close(db_); }
  // Calls row(stmt) for every result row.
  template <typename F>
  void query(const std::string& sql, const std::string& param, F&& row) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("bad query: ") + sqlite3_errmsg(db_));
    if (!param.empty()) sqlite3_bind_text(st, 1, param.c_str(), -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) throw std::runtime_error("query failed: " + sql);
  }
  int64_t integer(const std::string& sql, const std::string& param = "") {
    int64_t v = 0;
    query(sql, param, [&](sqlite3_stmt* st) { v = sqlite3_column_int64(st, 0); });
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string text(sqlite3_stmt* st, int col) {
  const auto* p = sqlite3_column_text(st, col);
  return p ? reinterpret_cast<const char*>(p) : "";
}

}  // namespace

AgentProcess::AgentProcess(std::vector<std::string> args, std::string log_file)
    : args_(std::move(args)), log_file_(std::move(log_file)) {}

AgentProcess::~AgentProcess() { kill9(); }

void AgentProcess::start() {
  if (pid_ > 0) throw std::runtime_error("agent already running");
  const int log_fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  // Built before fork(): the child of a threaded process must not allocate.
  std::vector<char*> argv;
  for (auto& a : args_) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (log_fd >= 0) {
      ::dup2(log_fd, STDERR_FILENO);
      ::dup2(log_fd, STDOUT_FILENO);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  pid_ = pid;
}

bool AgentProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void AgentProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int AgentProcess::wait(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill9();
  return -1;
}

int AgentProcess::terminate(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return wait(timeout);
}

std::string AgentProcess::log() const {
  std::ifstream in(log_file_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

AgentJournal read_agent_journal(const std::string& state_dir) {
  AgentJournal j;
  if (!std::filesystem::exists(state_dir + "/outbox.db")) return j;  // not started yet
  ReadOnlyDb db(state_dir + "/outbox.db");
  if (db.integer("SELECT COUNT(*) FROM sqlite_master WHERE name = 'journal'") == 0) return j;
  db.query("SELECT name, value FROM counters", "", [&](sqlite3_stmt* st) {
    const std::string n = text(st, 0);
    const int64_t v = sqlite3_column_int64(st, 1);
    if (n == "updates_created") j.updates_created = v;
    if (n == "updates_acked") j.updates_acked = v;
    if (n == "updates_rejected") j.updates_rejected = v;
    if (n == "updates_dropped") j.updates_dropped = v;
    if (n == "telemetry_created") j.telemetry_created = v;
    if (n == "telemetry_acked") j.telemetry_acked = v;
    if (n == "telemetry_rejected") j.telemetry_rejected = v;
    if (n == "telemetry_dropped") j.telemetry_dropped = v;
    if (n == "secagg_rounds_created") j.secagg_rounds_created = v;
    if (n == "secagg_rounds_done") j.secagg_rounds_done = v;
    if (n == "secagg_rounds_aborted") j.secagg_rounds_aborted = v;
  });
  if (db.integer("SELECT COUNT(*) FROM sqlite_master WHERE name = 'secagg_rounds'") > 0)
    j.pending_secagg_rounds = db.integer("SELECT COUNT(*) FROM secagg_rounds");
  j.pending_updates = db.integer("SELECT COUNT(*) FROM updates");
  j.pending_telemetry = db.integer("SELECT COUNT(*) FROM telemetry");
  db.query("SELECT ref FROM journal WHERE kind = 'update' AND outcome = 'acked'", "",
           [&](sqlite3_stmt* st) { j.acked_update_ids.insert(text(st, 0)); });
  return j;
}

ServerRecords read_server_records(const std::string& server_state_dir, const std::string& agent) {
  ReadOnlyDb db(server_state_dir + "/edgefed.sqlite");
  ServerRecords r;
  db.query("SELECT update_id FROM ledger WHERE agent = ?1", agent,
           [&](sqlite3_stmt* st) { r.update_ids.insert(text(st, 0)); });
  r.ledger_rows = db.integer("SELECT COUNT(*) FROM ledger WHERE agent = ?1", agent);
  r.telemetry_rows = db.integer("SELECT COUNT(*) FROM telemetry WHERE agent = ?1", agent);
  db.query("SELECT updates, telemetry_records FROM agents WHERE agent = ?1", agent, [&](sqlite3_stmt* st) {
    r.agent_updates = sqlite3_column_int64(st, 0);
    r.agent_telemetry = sqlite3_column_int64(st, 1);
  });
  db.query("SELECT json FROM telemetry WHERE agent = ?1 AND kind = 'system'", agent,
           [&](sqlite3_stmt* st) {
             auto j = nlohmann::json::parse(text(st, 0), nullptr, false);
             const nlohmann::json* values = &j;
             if (j.is_object() && j.contains("values")) values = &j["values"];
             if (values->is_object() && values->contains("peak_rss_bytes") &&
                 (*values)["peak_rss_bytes"].is_number())
               r.max_peak_rss_bytes =
                   std::max(r.max_peak_rss_bytes, (*values)["peak_rss_bytes"].get<double>());
           });
  return r;
}

namespace {
edgefed::Model newest_checkpoint(ReadOnlyDb& db) {
  std::string blob;
  db.query("SELECT checkpoint FROM versions WHERE checkpoint IS NOT NULL ORDER BY version DESC LIMIT 1", "",
           [&](sqlite3_stmt* st) {
             blob.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                         static_cast<size_t>(sqlite3_column_bytes(st, 0)));
           });
  auto m = edgefed::decode_model({reinterpret_cast<const uint8_t*>(blob.data()), blob.size()});
  if (!m.is_ok()) throw std::runtime_error("newest checkpoint: " + m.status().to_string());
  return std::move(m->model);
}
}  // namespace

std::string newest_checkpoint_normalizer(const std::string& server_state_dir) {
  ReadOnlyDb db(server_state_dir + "/edgefed.sqlite");
  return newest_checkpoint(db).normalizer;
}

std::map<std::string, std::vector<float>> unmerged_update_deltas(const std::string& server_state_dir) {
  ReadOnlyDb db(server_state_dir + "/edgefed.sqlite");
  const edgefed::Model model = newest_checkpoint(db);
  // A pending body is in `payload`, or in the update spool: a record at
  // spool_offset modulo the spool's size, after a 32-byte header
  // (server/store/FORMAT.md), read here as the format says.
  const int64_t capacity = db.integer("SELECT value FROM meta WHERE key = 'spool_capacity'");
  std::ifstream spool(server_state_dir + "/edgefed.spool", std::ios::binary);
  std::map<std::string, std::vector<float>> out;
  db.query("SELECT agent, payload, spool_offset, spool_length FROM ledger WHERE consumed_by_version IS NULL", "",
           [&](sqlite3_stmt* st) {
             std::string body;
             if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
               body.assign(static_cast<const char*>(sqlite3_column_blob(st, 1)),
                           static_cast<size_t>(sqlite3_column_bytes(st, 1)));
             } else {
               if (capacity <= 0 || !spool) throw std::runtime_error("a spooled body but no spool");
               body.resize(static_cast<size_t>(sqlite3_column_int64(st, 3)));
               spool.seekg(sqlite3_column_int64(st, 2) % capacity + 32);
               if (!spool.read(body.data(), static_cast<std::streamsize>(body.size())))
                 throw std::runtime_error("short spool record");
             }
             auto u = edgefed::decode_update({reinterpret_cast<const uint8_t*>(body.data()), body.size()},
                                             model.layout);
             if (!u.is_ok()) throw std::runtime_error("ledger update: " + u.status().to_string());
             if (!out.emplace(text(st, 0), std::move(u->delta)).second)
               throw std::runtime_error("more than one unmerged update of " + text(st, 0));
           });
  return out;
}

int64_t newest_version(const std::string& server_state_dir) {
  ReadOnlyDb db(server_state_dir + "/edgefed.sqlite");
  return db.integer("SELECT COALESCE(MAX(version), 0) FROM versions");
}

std::string pending_telemetry_batch(const std::string& state_dir, const std::string& agent) {
  ReadOnlyDb db(state_dir + "/outbox.db");
  nlohmann::json records = nlohmann::json::array();
  db.query("SELECT seq, body FROM telemetry ORDER BY seq", "", [&](sqlite3_stmt* st) {
    // The seq column is the authority (bodies of older agents lack it); empty
    // maps are left out, as the wire form leaves them out.
    nlohmann::json r = nlohmann::json::parse(text(st, 1));
    r["seq"] = sqlite3_column_int64(st, 0);
    for (const char* map : {"values", "labels"})
      if (r.contains(map) && r[map].empty()) r.erase(map);
    records.push_back(std::move(r));
  });
  return nlohmann::json{{"agent_id", agent}, {"records", std::move(records)}}.dump();
}

std::map<std::string, double> expected_fleet_counts(const std::string& server_state_dir) {
  ReadOnlyDb db(server_state_dir + "/edgefed.sqlite");
  std::map<std::string, double> e;
  for (const char* k : kFleetKinds) e[fleet_kind_series(k)] = 0;
  for (const char* h : kFleetHistogramCounts) e[h] = 0;
  e["edgefed_telemetry_records_total"] = 0;
  db.query("SELECT kind, json FROM telemetry", "", [&](sqlite3_stmt* st) {
    const std::string kind = text(st, 0);
    // Both stored forms (wire record, or values and labels alone) keep the
    // values under "values" (server/store/FORMAT.md).
    const auto j = nlohmann::json::parse(text(st, 1));
    const auto values = j.contains("values") ? j["values"] : nlohmann::json::object();
    e["edgefed_telemetry_records_total"] += 1;
    bool known = false;
    for (const char* k : kFleetKinds) known = known || kind == k;
    e[fleet_kind_series(known ? kind : "other")] += 1;
    if (kind == "train" && values.contains("loss")) e["edgefed_fleet_train_loss_count"] += 1;
    if (kind == "train" && values.contains("samples_per_s")) e["edgefed_fleet_samples_per_second_count"] += 1;
    if (values.contains("cpu_temp_c")) e["edgefed_fleet_cpu_temperature_celsius_count"] += 1;
    if (values.contains("outbox_updates")) e["edgefed_fleet_outbox_updates_count"] += 1;
  });
  return e;
}

void write_small_csv(const std::string& path, int rows, unsigned seed) {
  std::ofstream out(path);
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.3);
  out << "f0,f1,f2,f3,label\n";
  for (int i = 0; i < rows; ++i) {
    const int y = i % 3;
    for (int f = 0; f < 4; ++f) out << (f == y ? 1.0 : 0.0) + noise(rng) << ",";
    out << y << "\n";
  }
}

}  // namespace edgefed::testing
