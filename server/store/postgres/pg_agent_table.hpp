// Known agents in PostgreSQL: AgentTable (../agent_table.hpp) with the same
// methods, records and error codes, over a PgConnection: first/last seen,
// counters, quarantine (a BOOLEAN here), device class. Upserts are single
// INSERT ... ON CONFLICT statements, so concurrent replicas touching one
// agent add up instead of losing counts.
// Not thread-safe: used by the connection's one owner, inside its
// transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/status.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class PgAgentTable {
 public:
  explicit PgAgentTable(PgConnection& conn) : conn_(conn) {}

  // Creates the agent if new, sets last_seen (never backwards), adds to the
  // counters and, if given, records the staleness of its latest update.
  Status touch(const std::string& agent, int64_t now_unix_ms, int64_t add_updates,
               std::optional<int64_t> staleness, int64_t add_telemetry);
  // Creates the agent if new.
  Status set_quarantine(const std::string& agent, bool quarantined, const std::string& reason,
                        int64_t now_unix_ms);
  // Creates the agent if new; the class its system telemetry names.
  Status set_device_class(const std::string& agent, const std::string& device_class, int64_t now_unix_ms);
  // Every agent, by name (byte order, as SQLite's).
  Result<std::vector<AgentRecord>> load_all();

 private:
  PgConnection& conn_;
};

}  // namespace edgefed::server
