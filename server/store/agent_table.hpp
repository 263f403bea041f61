// Known agents: first/last seen, counters, quarantine. Not thread-safe: used
// by the connection's one owner, inside its transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class AgentTable {
 public:
  explicit AgentTable(sqlite::Database& db) : db_(db) {}

  // Creates the agent if new, sets last_seen (never backwards), adds to the
  // counters and, if given, records the staleness of its latest update.
  Status touch(const std::string& agent, int64_t now_unix_ms, int64_t add_updates,
               std::optional<int64_t> staleness, int64_t add_telemetry);
  // Creates the agent if new.
  Status set_quarantine(const std::string& agent, bool quarantined, const std::string& reason,
                        int64_t now_unix_ms);
  // Creates the agent if new; the class its system telemetry names.
  Status set_device_class(const std::string& agent, const std::string& device_class, int64_t now_unix_ms);
  Result<std::vector<AgentRecord>> load_all();

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
