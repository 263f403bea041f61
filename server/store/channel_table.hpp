// ChannelStore (channel_store.hpp, the contract) in the SQLite state
// database:
//   version_channels(version, channel, changed_unix_ms, reason)
//       one row per version that left `candidate` (canary, stable,
//       rejected); a version without a row is a candidate
//   version_validations(version, agent, metric, value, serving_value,
//       samples, cohort, ts_unix_ms)
//       one row per (version, agent): the first `validation` record an
//       agent sent for a version (a resent record is ignored)
//   meta keys stable_version, canary_version, canary_since_unix_ms
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/channel_store.hpp"

namespace edgefed::server {

class ChannelTable final : public ChannelStore {
 public:
  explicit ChannelTable(sqlite::Database& db) : db_(db) {}

  Result<bool> add_validation(const ValidationRow& row) override;
  Result<std::map<int64_t, ValidationSums>> sums() override;
  Status set_channel(int64_t version, const std::string& channel, int64_t now_unix_ms, const std::string& reason) override;
  Result<std::map<int64_t, ChannelRow>> channels() override;
  Status set_pointer(const std::string& key, std::optional<int64_t> value) override;
  Result<std::optional<int64_t>> pointer(const std::string& key) override;

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
