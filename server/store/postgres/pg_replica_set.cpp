#include "server/store/postgres/pg_replica_set.hpp"

#include <nlohmann/json.hpp>

#include "server/store/postgres/pg_schema.hpp"
#include "server/store/postgres/pg_transaction.hpp"

namespace edgefed::server {

namespace {

// The database's clock, in Unix ms: every heartbeat is compared on it.
constexpr const char* kDbNowMs = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

// The keys whose values differ between two configuration objects.
std::string differing_keys(const std::string& a_text, const std::string& b_text) {
  const auto a = nlohmann::json::parse(a_text, nullptr, false);
  const auto b = nlohmann::json::parse(b_text, nullptr, false);
  if (!a.is_object() || !b.is_object()) return "(unreadable configuration)";
  std::string out;
  auto note = [&](const std::string& key) { out += (out.empty() ? "" : ", ") + key; };
  for (const auto& [key, value] : a.items()) {
    if (!b.contains(key) || b.at(key) != value) note(key);
  }
  for (const auto& [key, value] : b.items()) {
    if (!a.contains(key)) note(key);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<PgReplicaSet>> PgReplicaSet::open(const std::string& conninfo, const PgConnectOptions& options,
                                                         std::string name) {
  if (name.empty()) return Status(Code::kInvalidArgument, "a replica needs a name");
  auto conn = PgConnection::connect(conninfo, options);
  if (!conn.is_ok()) return conn.status();
  // The first replica of a fresh database joins before its store exists.
  EDGEFED_RETURN_IF_ERROR(ensure_pg_schema(*conn));
  return std::unique_ptr<PgReplicaSet>(new PgReplicaSet(conninfo, options, std::move(name),
                                                        std::make_unique<PgConnection>(std::move(conn).value())));
}

PgReplicaSet::~PgReplicaSet() { leave(); }

Status PgReplicaSet::reconnect() {
  leading_ = false;
  auto conn = PgConnection::connect(conninfo_, options_);
  if (!conn.is_ok()) return conn.status();
  conn_ = std::make_unique<PgConnection>(std::move(conn).value());
  return Status::ok();
}

Status PgReplicaSet::join(const std::string& config_json, int64_t local_unix_ms) {
  config_ = config_json;
  if (conn_->is_broken()) EDGEFED_RETURN_IF_ERROR(reconnect());
  PgTransaction tx(*conn_);
  EDGEFED_RETURN_IF_ERROR(tx.status());
  // Joins one at a time, so two replicas with different configurations
  // starting together cannot both pass the check.
  auto lock = conn_->query("SELECT pg_advisory_xact_lock($1::int, hashtext(current_schema()) + 1)",
                           {PgParam::int64(kLeaderLockClass)});
  if (!lock.is_ok()) return lock.status();
  auto live = conn_->query(std::string("SELECT name, config, ") + kDbNowMs + " - heartbeat_unix_ms FROM replicas " +
                               "WHERE name <> $1 AND heartbeat_unix_ms > " + kDbNowMs + " - $2 ORDER BY name",
                           {PgParam::text(name_), PgParam::int64(kLiveWindowMs)});
  if (!live.is_ok()) return live.status();
  for (int i = 0; i < live->rows(); ++i) {
    const std::string other_config(live->get_text(i, 1));
    if (other_config == config_json) continue;
    return Status(Code::kConflict,
                  "replica " + std::string(live->get_text(i, 0)) + " (heartbeat " +
                      std::to_string(live->get_int64(i, 2)) +
                      " ms ago) runs another configuration of the same database; these differ: " +
                      differing_keys(other_config, config_json) +
                      ". Start every replica with the same model and merge options (stop the others first to "
                      "change them)");
  }
  // Rows of replicas gone for a day are history nobody reads.
  auto gone = conn_->query(std::string("DELETE FROM replicas WHERE heartbeat_unix_ms < ") + kDbNowMs + " - 86400000");
  if (!gone.is_ok()) return gone.status();
  auto row = conn_->query(std::string("INSERT INTO replicas(name, config, started_unix_ms, heartbeat_unix_ms, leader, "
                                      "version, clock_skew_ms) VALUES($1, $2, ") +
                              kDbNowMs + ", " + kDbNowMs + ", false, -1, $3 - " + kDbNowMs +
                              ") ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, "
                              "started_unix_ms = EXCLUDED.started_unix_ms, heartbeat_unix_ms = EXCLUDED.heartbeat_unix_ms, "
                              "leader = false, version = -1, clock_skew_ms = EXCLUDED.clock_skew_ms",
                          {PgParam::text(name_), PgParam::text(config_json), PgParam::int64(local_unix_ms)});
  if (!row.is_ok()) return row.status();
  left_ = false;
  return tx.commit();
}

Result<ReplicaView> PgReplicaSet::tick(int64_t version, int64_t local_unix_ms) {
  if (conn_->is_broken()) {
    leading_ = false;
    EDGEFED_RETURN_IF_ERROR(reconnect());
  }
  if (!leading_) {
    auto got = conn_->query("SELECT pg_try_advisory_lock($1::int, hashtext(current_schema()))",
                            {PgParam::int64(kLeaderLockClass)});
    if (!got.is_ok()) {
      if (conn_->is_broken()) leading_ = false;
      return got.status();
    }
    leading_ = got->get_text(0, 0) == "t";
  }
  // The heartbeat (an upsert: a row removed meanwhile comes back), then the
  // view, in one statement on the database's clock.
  auto res = conn_->query(
      std::string("WITH beat AS (INSERT INTO replicas(name, config, started_unix_ms, heartbeat_unix_ms, leader, "
                  "version, clock_skew_ms) VALUES($1, $2, ") +
          kDbNowMs + ", " + kDbNowMs + ", $3, $4, $5 - " + kDbNowMs +
          ") ON CONFLICT (name) DO UPDATE SET heartbeat_unix_ms = EXCLUDED.heartbeat_unix_ms, leader = $3, "
          "version = $4, clock_skew_ms = EXCLUDED.clock_skew_ms RETURNING clock_skew_ms) "
          "SELECT (SELECT name FROM replicas WHERE leader AND name <> $1 AND heartbeat_unix_ms > " +
          kDbNowMs +
          " - $6 ORDER BY heartbeat_unix_ms DESC LIMIT 1), "
          "(SELECT count(*) FROM replicas WHERE name <> $1 AND heartbeat_unix_ms > " +
          kDbNowMs +
          " - $6), (SELECT COALESCE(max(version), -1) FROM versions), (SELECT clock_skew_ms FROM beat)",
      {PgParam::text(name_), PgParam::text(config_), PgParam::text(leading_ ? "true" : "false"),
       PgParam::int64(version), PgParam::int64(local_unix_ms), PgParam::int64(kLiveWindowMs)});
  if (!res.is_ok()) {
    if (conn_->is_broken()) leading_ = false;
    return res.status();
  }
  ReplicaView view;
  view.leading = leading_;
  view.leader = leading_ ? name_ : std::string(res->is_null(0, 0) ? "" : res->get_text(0, 0));
  view.live_replicas = res->get_int64(0, 1) + 1;
  view.newest_version = res->get_int64(0, 2);
  view.clock_skew_s = static_cast<double>(res->get_int64(0, 3)) / 1000.0;
  return view;
}

void PgReplicaSet::leave() {
  if (left_ || !conn_ || conn_->is_broken()) return;
  left_ = true;
  if (leading_) {
    (void)conn_->query("SELECT pg_advisory_unlock($1::int, hashtext(current_schema()))",
                       {PgParam::int64(kLeaderLockClass)});
    leading_ = false;
  }
  (void)conn_->query("DELETE FROM replicas WHERE name = $1", {PgParam::text(name_)});
}

}  // namespace edgefed::server
