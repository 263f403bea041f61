// In-memory view of the known agents (mirrors the agents table), so the hot
// path can check quarantine and the status page can list agents without
// touching SQLite. Thread-safe. The writer thread updates it after each
// commit; the table stays the source of truth across restarts.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

class AgentRegistry {
 public:
  // active_s / offline_s: last-seen thresholds for "active" / "offline".
  AgentRegistry(double active_s, double offline_s) : active_ms_(active_s * 1000), offline_ms_(offline_s * 1000) {}

  void load(const std::vector<AgentRecord>& records);
  bool quarantined(const std::string& agent) const;
  void touch(const std::string& agent, int64_t now_unix_ms, int64_t add_updates, std::optional<int64_t> staleness,
             int64_t add_telemetry);
  void set_quarantine(const std::string& agent, bool quarantined, const std::string& reason, int64_t now_unix_ms);
  // "" while unknown. set_device_class creates the agent if new.
  std::string device_class(const std::string& agent) const;
  void set_device_class(const std::string& agent, const std::string& device_class, int64_t now_unix_ms);
  // Grows whenever an agent is added or changes class: the canary cohort is
  // recomputed when it moves.
  uint64_t roster_generation() const;

  struct Counts {
    int64_t active = 0, idle = 0, offline = 0, quarantined = 0;
  };
  Counts counts(int64_t now_unix_ms) const;
  std::vector<AgentStatus> list(int64_t now_unix_ms) const;  // sorted by id
  int64_t size() const;

 private:
  std::string state_of(const AgentRecord& a, int64_t now_unix_ms) const;
  // The agent's record, created (first and last seen now) if new. REQUIRES mu_.
  AgentRecord& find_or_add(const std::string& agent, int64_t now_unix_ms);

  const double active_ms_;
  const double offline_ms_;
  mutable std::mutex mu_;
  std::map<std::string, AgentRecord> agents_;
  uint64_t roster_generation_ = 0;
};

}  // namespace edgefed::server
