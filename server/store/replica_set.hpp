// ReplicaSet: this server's place among the replicas that share one
// database (issue 20; docs/replicas.md). Every replica ingests; exactly one
// at a time, the leader, merges updates into versions. The leadership is
// held by a database session (PostgreSQL: an advisory lock), so it ends
// when the leader's process or connection does, never by a clock: a replica
// whose clock is off neither loses nor steals it (its skew against the
// database is measured and reported instead).
// Implemented by PgReplicaSet (postgres/pg_replica_set.hpp); the SQLite
// store has no replicas (one process owns the file).
// Not thread-safe: one owner (the engine's writer thread).
#pragma once

#include <cstdint>
#include <string>

#include "edgefed/status.hpp"

namespace edgefed::server {

// What one tick saw.
struct ReplicaView {
  bool leading = false;         // this replica holds the leadership now
  std::string leader;           // the live leader's name; "" while there is none
  int64_t live_replicas = 0;    // replicas with a heartbeat within the live window, this one included
  int64_t newest_version = -1;  // the database's newest version (-1: none yet)
  double clock_skew_s = 0;      // this replica's clock minus the database's
};

class ReplicaSet {
 public:
  virtual ~ReplicaSet() = default;

  // Registers this replica with its merge configuration (a JSON object:
  // what every replica must agree on). kConflict, naming the replica and
  // the keys that differ, if a live replica runs another one; kUnavailable
  // if the database cannot be reached.
  virtual Status join(const std::string& config_json, int64_t local_unix_ms) = 0;
  // Once per poll: keeps the leadership or tries to take it, records a
  // heartbeat (with `version`, the newest this replica has loaded) and reads
  // the view. kUnavailable while the database cannot be reached; the
  // leadership is lost with the connection (leading() turns false).
  virtual Result<ReplicaView> tick(int64_t version, int64_t local_unix_ms) = 0;
  // Whether this replica held the leadership at its last tick.
  virtual bool leading() const = 0;
  // Gives the leadership up and removes this replica's row (clean
  // shutdown; a killed replica's row simply stops beating). Never fails.
  virtual void leave() = 0;
  virtual const std::string& name() const = 0;
};

}  // namespace edgefed::server
