// AgentStore (agent_store.hpp, the contract) in the SQLite state
// database: table `agents` of FORMAT.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/agent_store.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class AgentTable final : public AgentStore {
 public:
  explicit AgentTable(sqlite::Database& db) : db_(db) {}

  Status touch(const std::string& agent, int64_t now_unix_ms, int64_t add_updates,
               std::optional<int64_t> staleness, int64_t add_telemetry) override;
  Status set_quarantine(const std::string& agent, bool quarantined, const std::string& reason,
                        int64_t now_unix_ms) override;
  Status set_device_class(const std::string& agent, const std::string& device_class, int64_t now_unix_ms) override;
  Result<std::vector<AgentRecord>> load_all() override;

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
