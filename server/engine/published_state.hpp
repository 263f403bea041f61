// What reader threads see of the engine: the state the writer thread
// publishes after each commit (model snapshot, layout, update and telemetry
// counters, version history, latest loss and gradient variance), the
// long-poll waiters woken by a new version, and the status assembled from
// them. Readers only take a short mutex; nothing here touches SQLite.
//
// Thread safety: publish(), install() and count_telemetry() are called by
// one thread at a time (the writer, its fsync thread when the group commit
// is pipelined, or open() before the writer starts), prepare() by the
// writer; every other method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "edgefed/clock.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "server/engine/agent_registry.hpp"
#include "server/engine/engine_metrics.hpp"
#include "server/engine/engine_options.hpp"
#include "server/engine/model_snapshot.hpp"
#include "server/engine/serving_view.hpp"
#include "server/engine/version_waiters.hpp"

namespace edgefed::server {

class VersionKeeper;

class PublishedState {
 public:
  // All references must outlive the state.
  PublishedState(const EngineOptions& options, Clock& clock, EngineMetrics& metrics, const AgentRegistry& agents)
      : options_(options), clock_(clock), metrics_(metrics), agents_(agents) {}

  // ---- the publishing side (writer thread) ----
  // Copies what readers need from the keeper after a commit; a new version
  // updates the version gauges and wakes the long polls waiting for it.
  // publish(k) is install(prepare(k)).
  void publish(const VersionKeeper& keeper) { install(prepare(keeper)); }
  // publish() in two halves, for the pipelined group commit
  // (commit_syncer.hpp): prepare() copies the keeper's state right after
  // the commit (writer thread); install() makes it visible once the commit
  // is durable (one thread at a time, in commit order).
  struct Prepared {
    ModelSnapshot snapshot;
    std::shared_ptr<const ModelLayout> layout;
    int64_t updates_accepted = 0;
    int64_t updates_merged = 0;
    // Only when the model changed since the last prepare().
    std::optional<std::vector<VersionPoint>> history;
    std::optional<double> global_loss;
    double gradient_variance = 0.0;
    std::shared_ptr<const ServingView> serving;
    int64_t buffered = 0;
    size_t aggregator_memory_bytes = 0;
  };
  Prepared prepare(const VersionKeeper& keeper);
  void install(Prepared p);
  // Adds telemetry records stored by a commit (or found by open()).
  void count_telemetry(int64_t records);
  // This server's place among replicas (written by the writer's replica
  // tick; status() carries it). Never called with the SQLite store.
  void set_replica(ReplicaSummary replica);
  // Drops every pending long-poll callback without running it (shutdown).
  void drop_waiters() { waiters_.clear(); }

  // ---- readers ----
  ModelSnapshot current_model() const;
  // The published model and the layout it was published with, read together.
  struct Current {
    ModelSnapshot model;
    std::shared_ptr<const ModelLayout> layout;
  };
  Current current() const;
  std::shared_ptr<const ModelLayout> layout() const;
  // Engine::on_version_after and Engine::cancel (engine.hpp).
  uint64_t on_version_after(int64_t after, std::function<void(ModelSnapshot)> cb);
  void cancel(uint64_t id) { waiters_.cancel(id); }
  // Counters, agent list and version history (no observer decoration).
  ServerStatus status() const;
  // The serving channels as of the last commit (never null).
  std::shared_ptr<const ServingView> serving() const;

 private:
  int64_t now_ms() const { return clock_.unix_ms(); }

  const EngineOptions& options_;
  Clock& clock_;
  EngineMetrics& metrics_;
  const AgentRegistry& agents_;
  VersionWaiters waiters_;

  mutable std::mutex state_mu_;  // what the writer publishes
  ModelSnapshot snapshot_;
  std::shared_ptr<const ModelLayout> layout_;
  int64_t updates_accepted_ = 0;
  int64_t updates_merged_ = 0;
  int64_t telemetry_records_ = 0;
  std::optional<ReplicaSummary> replica_;
  std::optional<double> global_loss_;
  double gradient_variance_ = 0.0;
  std::vector<VersionPoint> history_;
  std::shared_ptr<const ServingView> serving_ = std::make_shared<ServingView>();
  // prepare()'s side (writer thread): the model it last copied.
  int64_t prepared_version_ = -1;
  std::shared_ptr<const std::string> prepared_bytes_;
};

}  // namespace edgefed::server
