// Reads the VersionKeeper's state back from the store: the newest version
// and its checkpoint, the version history, the agents, the ledger counters
// and the pending (acknowledged but unmerged) updates, or builds version 0's
// model for an empty store. Any stored version's parameters, too.
//
// It only reads: the keeper adopts each result into its own members and
// commits version 0 itself (commit_version is the one place that writes
// versions). recover() adopts step by step, in the order the reads happen,
// so a read that fails leaves the keeper exactly as far as it got.
//
// Not thread-safe: used by the keeper's owner (the writer thread, or open()
// before it starts). Holds references to the store and the options, which
// must outlive it. Errors are Status values: store errors as the store
// reports them, kIo for a stored state that cannot be loaded, kInternal for
// a ledger that contradicts the versions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/ml/normalizer.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/status.hpp"
#include "server/aggregation/aggregator.hpp"
#include "server/aggregation/staleness.hpp"
#include "server/engine/engine_options.hpp"
#include "server/store/state_store.hpp"

namespace edgefed::server {

// A version's checkpoint: the encoded bytes (served as the snapshot) and
// the model they decode to.
struct LoadedCheckpoint {
  std::shared_ptr<const std::string> bytes;
  Model model;
};

// The ledger's counters, read together.
struct LedgerCounts {
  int64_t accepted = 0;
  int64_t merged = 0;
};

class VersionLoader {
 public:
  VersionLoader(StateStore& store, const EngineOptions& options) : store_(store), options_(options) {}

  // The newest committed version; nullopt for an empty store.
  Result<std::optional<VersionRecord>> newest();
  // The checkpoint of the newest version `record` (kIo if it has none or it
  // does not decode).
  Result<LoadedCheckpoint> newest_checkpoint(const VersionRecord& record);
  // The versions the keeper remembers (status history, and enough for the
  // age of any update within max_staleness), oldest first.
  Result<std::vector<VersionRecord>> history();
  Result<std::vector<AgentRecord>> agents();
  Result<LedgerCounts> ledger_counts();
  // Where pending ledger rows go: the aggregator (already reset), the
  // input normalizer pool (already reset) and the ledger ids buffered.
  struct PendingSink {
    Aggregator& aggregator;
    ml::NormalizerPool& normalizers;
    std::vector<int64_t>& ids;
  };
  // Feeds every pending ledger row (or those of `only`, ascending) into
  // `sink` with the weight and staleness recorded at accept; logs
  // ledger_replayed. Returns how many rows it fed.
  // One server (SQLite): kInternal for a row accepted at another version
  // than `version`, kIo for a payload that no longer decodes against
  // `layout`. Replicas (PostgreSQL): a row accepted by a replica that had
  // not loaded `version` yet gets tau = version - base_version and its
  // weight again; a row that no longer decodes (accepted against a layout
  // an admin replaced meanwhile) is discarded, as the replacement discarded
  // the buffer, and logged.
  Result<int64_t> replay_pending(int64_t version, const ModelLayout& layout, const StalenessFunction& staleness,
                                 const PendingSink& sink, const std::vector<int64_t>* only = nullptr);
  // Version 0's model for an empty store, from model_init and init_seed
  // (kInvalidArgument for a bad model_init).
  Result<Model> initial_model();
  // The parameters of a version that still has its checkpoint (kNotFound).
  Result<Model> load_version(int64_t version);

 private:
  StateStore& store_;
  const EngineOptions& options_;
};

}  // namespace edgefed::server
