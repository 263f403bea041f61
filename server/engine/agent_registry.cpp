#include "server/engine/agent_registry.hpp"

#include <algorithm>

namespace edgefed::server {

void AgentRegistry::load(const std::vector<AgentRecord>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  agents_.clear();
  for (const auto& r : records) agents_[r.agent] = r;
  ++roster_generation_;
}

AgentRecord& AgentRegistry::find_or_add(const std::string& agent, int64_t now_unix_ms) {
  auto [it, fresh] = agents_.try_emplace(agent);
  if (fresh) {
    it->second.agent = agent;
    it->second.first_seen_unix_ms = it->second.last_seen_unix_ms = now_unix_ms;
    ++roster_generation_;
  }
  return it->second;
}

bool AgentRegistry::quarantined(const std::string& agent) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = agents_.find(agent);
  return it != agents_.end() && it->second.quarantined;
}

void AgentRegistry::touch(const std::string& agent, int64_t now_unix_ms, int64_t add_updates,
                          std::optional<int64_t> staleness, int64_t add_telemetry) {
  std::lock_guard<std::mutex> lock(mu_);
  AgentRecord& a = find_or_add(agent, now_unix_ms);
  a.last_seen_unix_ms = std::max(a.last_seen_unix_ms, now_unix_ms);
  a.updates += add_updates;
  if (staleness) a.last_staleness = *staleness;
  a.telemetry_records += add_telemetry;
}

void AgentRegistry::set_quarantine(const std::string& agent, bool quarantined, const std::string& reason,
                                   int64_t now_unix_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  AgentRecord& a = find_or_add(agent, now_unix_ms);
  a.quarantined = quarantined;
  a.quarantine_reason = reason;
}

std::string AgentRegistry::device_class(const std::string& agent) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = agents_.find(agent);
  return it == agents_.end() ? std::string() : it->second.device_class;
}

void AgentRegistry::set_device_class(const std::string& agent, const std::string& device_class,
                                     int64_t now_unix_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  AgentRecord& a = find_or_add(agent, now_unix_ms);
  if (a.device_class == device_class) return;
  a.device_class = device_class;
  ++roster_generation_;
}

uint64_t AgentRegistry::roster_generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return roster_generation_;
}

std::string AgentRegistry::state_of(const AgentRecord& a, int64_t now_unix_ms) const {
  if (a.quarantined) return "quarantined";
  const double idle_for = static_cast<double>(now_unix_ms - a.last_seen_unix_ms);
  if (idle_for <= active_ms_) return "active";
  if (idle_for <= offline_ms_) return "idle";
  return "offline";
}

AgentRegistry::Counts AgentRegistry::counts(int64_t now_unix_ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  Counts c;
  for (const auto& [id, a] : agents_) {
    const std::string s = state_of(a, now_unix_ms);
    if (s == "active") ++c.active;
    else if (s == "idle") ++c.idle;
    else if (s == "offline") ++c.offline;
    else ++c.quarantined;
  }
  return c;
}

std::vector<AgentStatus> AgentRegistry::list(int64_t now_unix_ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AgentStatus> out;
  out.reserve(agents_.size());
  for (const auto& [id, a] : agents_) {
    AgentStatus s;
    s.agent_id = id;
    s.state = state_of(a, now_unix_ms);
    s.last_seen_unix_ms = a.last_seen_unix_ms;
    s.updates = a.updates;
    s.last_staleness = static_cast<double>(a.last_staleness);
    s.device_class = a.device_class;
    out.push_back(std::move(s));
  }
  return out;
}

int64_t AgentRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(agents_.size());
}

}  // namespace edgefed::server
