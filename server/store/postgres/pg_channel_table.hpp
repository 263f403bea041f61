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
#include "server/store/channel_store.hpp"
#include "server/store/postgres/pg_connection.hpp"

namespace edgefed::server {

class PgChannelTable final : public ChannelStore {
 public:
  explicit PgChannelTable(PgConnection& conn) : conn_(conn) {}

  Result<bool> add_validation(const ValidationRow& row) override;
  Result<std::map<int64_t, ValidationSums>> sums() override;
  Status set_channel(int64_t version, const std::string& channel, int64_t now_unix_ms, const std::string& reason) override;
  Result<std::map<int64_t, ChannelRow>> channels() override;
  Status set_pointer(const std::string& key, std::optional<int64_t> value) override;
  Result<std::optional<int64_t>> pointer(const std::string& key) override;

 private:
  PgConnection& conn_;
};

}  // namespace edgefed::server
