// A site relay's outbox (docs/relays.md): the partial sums it formed from
// its agents' updates, each sent upstream as one update until the central
// server acknowledged it (FORMAT.md):
//   relay_batches(id, update_id, base_version, updates, samples, ledger_ids,
//                 body, created_unix_ms, sent_unix_ms, upstream_version, result)
// A batch is inserted in the same transaction that marks its ledger rows
// forwarded (kForwarded), so each acknowledged agent update is in exactly
// one batch; its update_id never changes, so a batch sent again after a
// crash is a duplicate upstream, never counted twice.
// Each call is one statement; the caller opens the transactions. Not
// thread-safe: the store's owner (the engine's writer thread).
// Errors: SQLite failures as mapped by edgefed/sqlite/error.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::server {

struct RelayBatch {
  int64_t id = 0;
  std::string update_id;
  int64_t base_version = 0;
  int64_t updates = 0;       // agent updates summed
  int64_t samples = 0;       // their num_samples, summed
  std::string ledger_ids;    // JSON array of the ledger rows summed
  std::string body;          // the update body sent upstream ("" once sent)
  int64_t created_unix_ms = 0;
  std::optional<int64_t> sent_unix_ms;
  std::optional<int64_t> upstream_version;
  std::string result;        // "" until answered: "accepted", "duplicate" or the refusal
};

class RelayBatchTable {
 public:
  explicit RelayBatchTable(sqlite::Database& db) : db_(db) {}

  // Inserts b (b.id ignored); returns the new id.
  Result<int64_t> insert(const RelayBatch& b);
  // The batches not answered yet, with their bodies, oldest first (at most limit).
  Result<std::vector<RelayBatch>> unsent(int64_t limit);
  // Records the central server's answer and drops the body.
  Status mark_sent(int64_t id, int64_t now_unix_ms, std::optional<int64_t> upstream_version,
                   const std::string& result);
  // Batches by state, for metrics and tests.
  struct Counts {
    int64_t unsent = 0;
    int64_t accepted = 0;   // accepted or duplicate
    int64_t refused = 0;
    int64_t updates_forwarded = 0;  // agent updates in accepted batches
  };
  Result<Counts> counts();

 private:
  sqlite::Database& db_;
};

}  // namespace edgefed::server
