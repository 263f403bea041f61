// ReplicaSet (../replica_set.hpp) over PostgreSQL: replicas of edgefed-server
// sharing one database elect their leader with a session-level advisory
// lock, taken with pg_try_advisory_lock on a connection of this object's
// own. PostgreSQL releases it when that session ends, so a SIGKILLed
// leader's lock is gone as soon as the kernel closes its socket, and the
// next replica to tick takes it over. The lock's key is (kLeaderLockClass,
// hashtext(current_schema())): replicas share a leader exactly when they
// share the tables.
// Table `replicas` (../FORMAT.md) holds one row per replica: its merge
// configuration, a heartbeat on the database's clock, whether it leads,
// the version it has loaded and its clock skew (for /v1/status, metrics and
// the configuration check at join).
// Not thread-safe: one owner. Errors: as pg_error.hpp maps them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "edgefed/status.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/replica_set.hpp"

namespace edgefed::server {

class PgReplicaSet final : public ReplicaSet {
 public:
  // The advisory lock's first key ("edgf" in ASCII).
  static constexpr int32_t kLeaderLockClass = 0x65646766;
  // A replica whose heartbeat is older than this is not live (not counted,
  // not compared at join, not shown as leader).
  static constexpr int64_t kLiveWindowMs = 10000;

  // Connects (the store's connection string and options), creating the
  // tables if missing (pg_schema.hpp); `name` must be
  // unique among the live replicas (a pod name, a host name).
  static Result<std::unique_ptr<PgReplicaSet>> open(const std::string& conninfo, const PgConnectOptions& options,
                                                    std::string name);
  ~PgReplicaSet() override;

  Status join(const std::string& config_json, int64_t local_unix_ms) override;
  Result<ReplicaView> tick(int64_t version, int64_t local_unix_ms) override;
  bool leading() const override { return leading_; }
  void leave() override;
  const std::string& name() const override { return name_; }

 private:
  PgReplicaSet(std::string conninfo, PgConnectOptions options, std::string name, std::unique_ptr<PgConnection> conn)
      : conninfo_(std::move(conninfo)), options_(std::move(options)), name_(std::move(name)), conn_(std::move(conn)) {}
  // A new session after the old one broke; the lock went with it.
  Status reconnect();

  std::string conninfo_;
  PgConnectOptions options_;
  std::string name_;
  std::string config_;
  std::unique_ptr<PgConnection> conn_;
  bool leading_ = false;
  bool left_ = false;
};

}  // namespace edgefed::server
