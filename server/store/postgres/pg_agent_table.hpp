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
#include "server/store/agent_store.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class PgAgentTable final : public AgentStore {
 public:
  explicit PgAgentTable(PgConnection& conn) : conn_(conn) {}

  Status touch(const std::string& agent, int64_t now_unix_ms, int64_t add_updates,
               std::optional<int64_t> staleness, int64_t add_telemetry) override;
  Status set_quarantine(const std::string& agent, bool quarantined, const std::string& reason,
                        int64_t now_unix_ms) override;
  Status set_device_class(const std::string& agent, const std::string& device_class, int64_t now_unix_ms) override;
  Result<std::vector<AgentRecord>> load_all() override;

 private:
  PgConnection& conn_;
};

}  // namespace edgefed::server
