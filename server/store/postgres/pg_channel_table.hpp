// Serving channels in PostgreSQL: ChannelTable (../channel_table.hpp) with
// the same methods, rows (ValidationRow, ValidationSums, ChannelRow) and
// error codes, over a PgConnection: each version's channel
// (version_channels), the agents' first validation of each version
// (version_validations, cohort a BOOLEAN here) and the meta pointers
// stable_version, canary_version, canary_since_unix_ms.
// Not thread-safe: used by the connection's one owner, inside its
// transactions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "edgefed/status.hpp"
#include "server/store/channel_table.hpp"
#include "server/store/postgres/pg_connection.hpp"

namespace edgefed::server {

class PgChannelTable {
 public:
  explicit PgChannelTable(PgConnection& conn) : conn_(conn) {}

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
  PgConnection& conn_;
};

}  // namespace edgefed::server
