// Serving channels (server/engine/serving_channels.hpp): each version's
// channel and the agents' validations of it, so a restart resumes the
// canary rollout where it was.
//   version_channels(version, channel, changed_unix_ms, reason)
//       one row per version that left `candidate` (canary, stable,
//       rejected); a version without a row is a candidate
//   version_validations(version, agent, metric, value, serving_value,
//       samples, cohort, ts_unix_ms)
//       one row per (version, agent): the first `validation` record an
//       agent sent for a version (a resent record is ignored)
//   meta keys stable_version, canary_version, canary_since_unix_ms
// Not thread-safe: used by the connection's one owner, inside its
// transactions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
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

class ChannelTable {
 public:
  explicit ChannelTable(sqlite::Database& db) : db_(db) {}

  // true if stored now; false if the agent had already validated the version.
  Result<bool> add_validation(const ValidationRow& row);
  // Per version with validations (rows with samples > 0 only).
  Result<std::map<int64_t, ValidationSums>> sums();
  Status set_channel(int64_t version, const std::string& channel, int64_t now_unix_ms, const std::string& reason);
  Result<std::map<int64_t, ChannelRow>> channels();
  // A meta key holding an integer (stable_version, ...); nullopt when unset.
  Status set_pointer(const std::string& key, std::optional<int64_t> value);
  Result<std::optional<int64_t>> pointer(const std::string& key);

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
