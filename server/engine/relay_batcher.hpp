// A site relay's partial sums (docs/relays.md): turns pending ledger rows
// into rows of the relay's outbox (relay_batch_table.hpp), per base version
// in chunks of relay_k: a full chunk as soon as it is there, and the rest of
// a base's rows once its oldest has waited relay_flush_s (or with `force`).
// delta = sum n_i delta_i / sum n_i and num_samples = sum n_i, so the
// central server's weight num_samples x s(tau) is the sum of the agents'.
// Each batch's rows become kForwarded in the caller's transaction; rows that
// no longer decode against `layout` are discarded (logged).
//
// The pending rows are indexed in memory (base version -> ids, oldest
// accept time), fed by add() as the relay accepts updates and rebuilt from
// the ledger by rebuild() after a start or a rolled-back transaction, so
// due() costs nothing and form() reads only the bodies it sums: the writer
// forms a chunk in the transaction that accepts its K-th update.
// Not thread-safe: owned by the VersionKeeper, used on the writer thread.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "edgefed/model_layout.hpp"
#include "edgefed/status.hpp"
#include "server/engine/engine_options.hpp"
#include "server/store/state_store.hpp"

namespace edgefed::server {

class RelayBatcher {
 public:
  RelayBatcher(StateStore& store, const EngineOptions& options) : store_(store), options_(options) {}
  // Forgets the index and reads the ledger's pending rows (metadata only).
  Status rebuild();
  // A row the relay just wrote to its ledger.
  void add(int64_t base_version, int64_t ledger_id, int64_t accepted_unix_ms);
  // While the uplink is down (the RelayUplink says so through the engine)
  // nothing is due by time and a chunk holds kCutChunkFactor x relay_k
  // updates: what piles up during a cut leaves in few, large partial sums
  // (the same weights), not as hundreds of K-sized ones that each take a
  // full server step in a stale direction once the link returns.
  static constexpr int64_t kCutChunkFactor = 64;
  void set_uplink_up(bool up);
  // Whether form() would write a batch now (a full chunk, or a base due).
  bool due(int64_t now_ms) const;
  // Returns how many batches it formed. kUnprocessable without an outbox.
  // On an error the caller rolls back and calls rebuild().
  Result<int64_t> form(const ModelLayout& layout, int64_t now_ms, bool force);
  int64_t pending() const;

 private:
  struct Base {
    std::vector<int64_t> ids;          // in ledger order
    std::vector<int64_t> accepted_ms;  // of each row in ids
  };
  bool base_due(const Base& b, int64_t now_ms) const;
  // Whether the base's oldest row waited relay_flush_s (while the uplink is up).
  bool waited_flush(const Base& b, int64_t now_ms) const;
  int64_t chunk_size() const {
    return uplink_up_ && !held_ ? options_.relay_k : options_.relay_k * kCutChunkFactor;
  }
  // Sums `chunk` into one outbox row; false if none of its rows decoded.
  Result<bool> write_batch(const ModelLayout& layout, int64_t base, const std::vector<int64_t>& chunk, int64_t now_ms);

  StateStore& store_;
  const EngineOptions& options_;
  std::map<int64_t, Base> by_base_;  // base version -> its pending rows
  bool uplink_up_ = true;
  bool held_ = false;  // rows were held during a cut: the next form() sends them all, in cut-sized chunks
};

}  // namespace edgefed::server
