// AgentStore: known agents, first/last seen, counters, quarantine, device
// class. Implemented by AgentTable (SQLite) and PgAgentTable (PostgreSQL);
// not thread-safe, inside the store's transactions, errors as
// LedgerStore's (ledger_store.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/status.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class AgentStore {
 public:
  virtual ~AgentStore() = default;

  // Creates the agent if new, sets last_seen (never backwards), adds to the
  // counters and, if given, records the staleness of its latest update.
  virtual Status touch(const std::string& agent, int64_t now_unix_ms, int64_t add_updates,
                       std::optional<int64_t> staleness, int64_t add_telemetry) = 0;
  // Creates the agent if new.
  virtual Status set_quarantine(const std::string& agent, bool quarantined, const std::string& reason,
                                int64_t now_unix_ms) = 0;
  // Creates the agent if new; the class its system telemetry names.
  virtual Status set_device_class(const std::string& agent, const std::string& device_class,
                                  int64_t now_unix_ms) = 0;
  virtual Result<std::vector<AgentRecord>> load_all() = 0;
};

}  // namespace edgefed::server
