// A site relay's partial sums (docs/relays.md): turns pending ledger rows
// into rows of the relay's outbox (relay_batch_table.hpp), per base version
// in chunks of relay_k: only full chunks while the oldest pending update has
// waited less than relay_flush_s, every pending row once it has (or with
// `force`). delta = sum n_i delta_i / sum n_i and num_samples = sum n_i, so
// the central server's weight num_samples x s(tau) is the sum of the
// agents'. Each batch's rows become kForwarded in the caller's
// transaction; rows that no longer decode against `layout` are discarded
// (logged).
// Not thread-safe: used by the VersionKeeper's owner, inside its transaction.
#pragma once

#include <cstdint>

#include "edgefed/model_layout.hpp"
#include "edgefed/status.hpp"
#include "server/engine/engine_options.hpp"
#include "server/store/state_store.hpp"

namespace edgefed::server {

class RelayBatcher {
 public:
  RelayBatcher(StateStore& store, const EngineOptions& options) : store_(store), options_(options) {}
  // Returns how many batches it formed. kUnprocessable without an outbox.
  Result<int64_t> form(const ModelLayout& layout, int64_t now_ms, bool force);

 private:
  StateStore& store_;
  const EngineOptions& options_;
};

}  // namespace edgefed::server
