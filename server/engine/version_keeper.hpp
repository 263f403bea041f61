// The merging state machine, owned by the engine's writer thread: the
// store, the current model, the pending buffer (sync round or async
// FedBuff buffer) and the version lineage.
//
// Every mutating call must run inside a transaction opened with begin() and
// closed with commit(). If anything fails (or commit does), the caller calls
// abort(): it rolls the transaction back and reloads the whole in-memory
// state from the database, so memory never runs ahead of disk.
//
// Staleness: every version commit merges the whole buffer, so the version an
// accepted update will be merged into is already fixed at accept time; tau
// (= server version at merge - base_version) and the weight are computed
// once, at accept, recorded in the ledger and reused by replay.
//
// Replicas (a PostgreSQL store, docs/replicas.md): only the leader merges.
// A follower (merging() false) records updates in the ledger and
// acknowledges them but buffers nothing; reload() brings it to the newest
// version another replica committed. The leader buffers the updates other
// replicas recorded as well (absorb_pending) and consumes exactly the
// ledger rows it merged, by id: a version commits only if none of them was
// consumed by someone else meanwhile, and only as the next version number,
// so two replicas that both believe they lead can never both commit.
//
// Not thread-safe: one owner (the writer thread; open() runs before it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/ml/normalizer.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "server/store/records.hpp"
#include "server/aggregation/aggregator.hpp"
#include "server/aggregation/server_optimizer.hpp"
#include "server/aggregation/staleness.hpp"
#include "server/engine/agent_registry.hpp"
#include "edgefed/clock.hpp"
#include "server/engine/engine_options.hpp"
#include "server/engine/model_snapshot.hpp"
#include "server/engine/relay_batcher.hpp"
#include "server/engine/serving_channels.hpp"
#include "server/store/state_store.hpp"

namespace edgefed::server {

// An update decoded and checked on the caller's thread, ready to record.
struct IncomingUpdate {
  UpdateMetadata meta;
  std::span<const float> delta;      // dense, layout size
  std::span<const uint8_t> body;     // the request body, stored until merged
  std::optional<SpoolExtent> spooled; // where it already is, if in the update spool
  std::string body_digest;            // body_digest.hpp
  std::string layout_fingerprint;    // the layout it was decoded against
  double norm2 = 0.0;                // ||delta||^2
  // A secure aggregation session's mean (Engine::submit_aggregate): no
  // agent to touch; merged at once (merge_due).
  bool aggregate = false;
};

// What a committed transaction changed, for metrics (drained by the caller).
struct KeeperEffects {
  struct Accepted {
    int64_t staleness;
    double age_seconds;
  };
  std::vector<Accepted> accepted;
  std::vector<VersionRecord> versions;  // committed versions, in order
  struct Merged {
    int64_t clipped;      // updates scaled down to clip_norm
    double noise_stddev;  // DP noise per coordinate of the merged delta (0 = none)
  };
  std::vector<Merged> merged;  // one per merge, in order
};

class VersionKeeper {
 public:
  // Opens the store and loads the state (recover()). `clock` and `agents`
  // must outlive the keeper.
  static Result<std::unique_ptr<VersionKeeper>> open(const EngineOptions& options, Clock& clock,
                                                     AgentRegistry& agents);

  Status begin();
  Status commit();
  // Rolls back and reloads the state from the database.
  Status abort();
  // Reloads the state from the database (outside transactions): the
  // newest version, its optimizer state, the history, the agents and, when
  // merging, every pending update.
  Status reload() { return recover(); }

  // ---- replicas ----
  // Whether this keeper merges (one server, or the replicas' leader); a
  // change takes effect with the next reload(). With a PostgreSQL store a
  // keeper opens not merging, until its replica is elected.
  bool merging() const { return merging_; }
  void set_merging(bool merging) { merging_ = merging; }
  // Leader only, outside transactions: buffers the pending ledger rows that
  // other replicas committed since the last call. Returns how many.
  Result<int64_t> absorb_pending();

  // ---- site relay (options.relay; docs/relays.md): never merges ----
  // Inside a transaction: commits the central server's `version` with these
  // parameters (kind "upstream", parent the version before). Nothing if
  // the relay has that version or a newer one already.
  Status adopt_upstream(int64_t version, Model model);
  // Inside a transaction: the relay's partial sums of the pending updates,
  // when due (relay_batcher.hpp). Returns how many batches it formed.
  // A relay's partial sums (relay_batcher.hpp): whether one is due, and
  // forming them in the open transaction.
  bool relay_batches_due() const;
  void set_relay_uplink_up(bool up) {
    if (relay_batcher_) relay_batcher_->set_uplink_up(up);
  }
  Result<int64_t> form_relay_batches(bool force);

  // ---- inside a transaction ----
  // Idempotent per (agent, update_id); kConflict for a known id with another
  // body; kDimensionMismatch if the layout changed since decoding;
  // kInvalidArgument for a base version from the future or a normalizer
  // that does not parse or has another channel count than the buffer's;
  // kTooStale.
  // kIo/kInternal mean the transaction must be aborted.
  Result<UpdateAck> accept(const IncomingUpdate& update);
  // Whether the count or the clock says the buffer / round should close.
  bool merge_due() const;
  // Closes the buffer into a new version (kUnprocessable if it is empty).
  Status merge();
  // merge() if merge_due(); true if a version was committed.
  Result<bool> merge_if_due();
  // Commits a new version holding `model` (kind "set", "init" or "rollback",
  // parent given) and discards the pending buffer.
  Status replace_model(Model model, const std::string& kind, int64_t parent);
  // The parameters of a version that still has its checkpoint (kNotFound).
  Result<Model> load_version(int64_t version);

  // ---- reads ----
  int64_t version() const { return record_.version; }
  const VersionRecord& newest_record() const { return record_; }
  std::shared_ptr<const ModelLayout> layout() const { return layout_; }
  ModelSnapshot snapshot() const { return snapshot_; }
  int64_t buffered() const { return aggregator_->count(); }
  // Bytes of update data the strategy holds (robust ones: K x model size).
  size_t aggregator_memory_bytes() const { return aggregator_->memory_bytes(); }
  std::string_view aggregator_name() const { return aggregator_->name(); }
  std::string_view optimizer_name() const { return optimizer_->name(); }
  // The server optimizer's current state (what the next version will store).
  std::string optimizer_state() const { return optimizer_->state(); }
  int64_t updates_accepted() const { return updates_accepted_; }
  int64_t updates_merged() const { return updates_merged_; }
  const std::vector<VersionRecord>& history() const { return history_; }
  StateStore& store() { return *store_; }
  // Serving channels: mutate inside a transaction (with store().channels()).
  ServingChannels& channels() { return channels_; }
  const ServingChannels& channels() const { return channels_; }
  KeeperEffects take_effects();

 private:
  VersionKeeper(const EngineOptions& options, Clock& clock, AgentRegistry& agents)
      : options_(options), clock_(clock), agents_(agents), channels_(options.channels) {}
  // Reloads every member from the store through a VersionLoader, adopting
  // each read as it succeeds; an empty store gets version 0.
  Status recover();
  Status create_initial_version();
  Status replay_pending();
  // Inserts the version row + checkpoint, prunes, updates memory.
  Status commit_version(VersionRecord record, Model model);
  void remember(const VersionRecord& record);

  const EngineOptions options_;
  Clock& clock_;
  AgentRegistry& agents_;
  StalenessFunction staleness_;
  std::unique_ptr<StateStore> store_;
  ServingChannels channels_;
  std::unique_ptr<Aggregator> aggregator_;
  // The ledger ids of the buffered updates, in the aggregator's order: what
  // merge() consumes.
  std::vector<int64_t> buffered_ids_;
  std::unique_ptr<RelayBatcher> relay_batcher_;  // a relay's; null otherwise
  bool merging_ = true;
  // The buffered updates' input normalizers, pooled by sample count: the
  // merged version's Model::normalizer (kept from the parent when none).
  ml::NormalizerPool normalizers_;
  std::unique_ptr<ServerOptimizer> optimizer_;

  Model model_;
  std::shared_ptr<const ModelLayout> layout_;
  VersionRecord record_;
  ModelSnapshot snapshot_;
  double opened_at_s_ = 0;         // when the round / buffer opened (monotonic)
  int64_t updates_accepted_ = 0;
  int64_t updates_merged_ = 0;
  std::vector<VersionRecord> history_;        // newest last, bounded
  std::map<int64_t, int64_t> created_ms_;     // version -> created, for update age
  KeeperEffects effects_;
};

}  // namespace edgefed::server
