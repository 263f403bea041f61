// ChannelStore: the serving channels (server/engine/serving_channels.hpp):
// each version's channel and the agents' validations of it, so a restart
// resumes the canary rollout where it was. Implemented by ChannelTable
// (SQLite, whose header lists its tables) and PgChannelTable (PostgreSQL);
// not thread-safe, inside the store's transactions, errors as
// LedgerStore's (ledger_store.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "edgefed/status.hpp"

namespace edgefed::server {

struct ValidationRow {
  int64_t version = 0;
  std::string agent;
  std::string metric;        // "accuracy" | "loss"
  double value = 0;          // the version's metric on the agent's holdout
  double serving_value = 0;  // the agent's served model on the same holdout
  int64_t samples = 0;
  bool cohort = false;       // the agent was in the canary cohort
  int64_t ts_unix_ms = 0;
};

// The validations of one version, summed.
struct ValidationSums {
  std::string metric;
  int64_t agents = 0;
  int64_t cohort_agents = 0;
  int64_t samples = 0;
  double value_x_samples = 0;    // sum of value * samples
  double serving_x_samples = 0;  // sum of serving_value * samples
};

struct ChannelRow {
  std::string channel;  // "canary" | "stable" | "rejected"
  int64_t changed_unix_ms = 0;
  std::string reason;
};

class ChannelStore {
 public:
  virtual ~ChannelStore() = default;

  // true if stored now; false if the agent had already validated the version.
  virtual Result<bool> add_validation(const ValidationRow& row) = 0;
  // Per version with validations (rows with samples > 0 only).
  virtual Result<std::map<int64_t, ValidationSums>> sums() = 0;
  virtual Status set_channel(int64_t version, const std::string& channel, int64_t now_unix_ms,
                             const std::string& reason) = 0;
  virtual Result<std::map<int64_t, ChannelRow>> channels() = 0;
  // A meta key holding an integer (stable_version, ...); nullopt when unset.
  virtual Status set_pointer(const std::string& key, std::optional<int64_t> value) = 0;
  virtual Result<std::optional<int64_t>> pointer(const std::string& key) = 0;
};

}  // namespace edgefed::server
