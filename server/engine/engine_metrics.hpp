// The engine's Prometheus metrics (names from docs/architecture.md), registered on
// the server's registry. Thread-safe (prometheus-cpp metrics are atomic).
// Label values are a fixed small set, never agent ids (cardinality).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "edgefed/status.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace edgefed::server {

class EngineMetrics {
 public:
  // registry may be null: the metrics then live in a private registry.
  explicit EngineMetrics(std::shared_ptr<prometheus::Registry> registry);

  void set_version(int64_t version);
  void set_global_loss(double loss);
  void set_gradient_variance(double variance);
  void set_buffered(int64_t updates);
  // One submit_update outcome: "accepted", "duplicate" or an error code name.
  void count_update(std::string_view result);
  void count_update(const Status& error) { count_update(code_name(error.code())); }
  // An accepted update: staleness in versions, age of its base model in s.
  void observe_accepted(int64_t staleness, double age_seconds);
  void count_telemetry(int64_t stored);
  void observe_aggregation(double seconds);
  // One committed writer transaction and how many calls it carried.
  void observe_commit(size_t jobs);
  // The pipelined group commit's fsync thread (commit_syncer.hpp): one
  // fsync of the WAL and the batches it made durable; failed() once one
  // failed (writes stop until restart).
  void observe_fsync(double seconds, size_t batches);
  void set_fsync_failed();
  // An update body that went into the database because the update spool
  // was full or its write failed. Returns how many so far.
  int64_t count_spool_fallback();
  void set_agents(int64_t active, int64_t idle, int64_t offline, int64_t quarantined);
  // One merged version: updates clipped to --clip-norm, DP noise stddev per
  // coordinate of the merged delta (0 = no noise added).
  void observe_merge(int64_t clipped, double noise_stddev);
  // Update bytes the aggregation strategy holds (robust: K x model size).
  void set_aggregator_memory(size_t bytes);
  // Serving channels (serving_channels.hpp): the stable and canary versions
  // (-1: none), their fleet validation figures, agents by the channel of the
  // version they serve, and the decisions taken.
  void set_serving(int64_t stable, int64_t canary, double stable_value, double canary_value, int64_t agents_stable,
                   int64_t agents_canary, int64_t agents_other);
  void count_channel_decision(bool promoted);
  // Replicas (docs/replicas.md): whether this server merges (a lone SQLite
  // server always does), the live replicas, this one's clock skew against
  // the database and how many versions it is behind the database.
  void set_replica(bool leader, int64_t live, double clock_skew_s, int64_t lag_versions);
  // This replica became the leader.
  void count_leader_election();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* version_;
  prometheus::Gauge* loss_;
  prometheus::Gauge* variance_;
  prometheus::Gauge* buffered_;
  prometheus::Family<prometheus::Counter>* updates_;
  prometheus::Histogram* staleness_;
  prometheus::Histogram* age_;
  prometheus::Counter* telemetry_;
  prometheus::Histogram* aggregation_;
  prometheus::Histogram* commit_jobs_;
  prometheus::Histogram* fsync_seconds_;
  prometheus::Histogram* fsync_batches_;
  prometheus::Gauge* fsync_failed_;
  prometheus::Counter* spool_fallbacks_;
  prometheus::Gauge* agents_active_;
  prometheus::Gauge* agents_idle_;
  prometheus::Gauge* agents_offline_;
  prometheus::Gauge* agents_quarantined_;
  prometheus::Counter* clipped_;
  prometheus::Gauge* noise_stddev_;
  prometheus::Counter* noised_;
  prometheus::Gauge* aggregator_memory_;
  prometheus::Gauge* serving_stable_;
  prometheus::Gauge* serving_canary_;
  prometheus::Gauge* validation_stable_;
  prometheus::Gauge* validation_canary_;
  prometheus::Gauge* serving_agents_stable_;
  prometheus::Gauge* serving_agents_canary_;
  prometheus::Gauge* serving_agents_other_;
  prometheus::Gauge* replica_leader_;
  prometheus::Gauge* replicas_live_;
  prometheus::Gauge* replica_skew_;
  prometheus::Gauge* replica_lag_;
  prometheus::Counter* leader_elections_;
  prometheus::Counter* promoted_;
  prometheus::Counter* rejected_;
};

}  // namespace edgefed::server
