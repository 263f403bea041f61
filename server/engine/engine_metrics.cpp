#include "server/engine/engine_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace edgefed::server {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

EngineMetrics::EngineMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(registry ? std::move(registry) : std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  version_ = &BuildGauge().Name("edgefed_model_version").Help("Version number of the global model being served.")
                  .Register(r).Add({});
  loss_ = &BuildGauge().Name("edgefed_global_loss")
               .Help("Global training loss: sample-weighted mean of the losses agents reported for the newest "
                     "version (source=reported).")
               .Register(r).Add({{"source", "reported"}});
  variance_ = &BuildGauge().Name("edgefed_gradient_variance")
                   .Help("Weighted mean of ||delta_i - mean delta||^2 over the updates merged into the newest version.")
                   .Register(r).Add({});
  buffered_ = &BuildGauge().Name("edgefed_buffered_updates")
                   .Help("Accepted updates waiting in the async buffer or the open sync round.")
                   .Register(r).Add({});
  updates_ = &BuildCounter().Name("edgefed_updates_total")
                  .Help("Model updates received, by result (accepted, duplicate, or the error code).")
                  .Register(r);
  // Every result exists at 0 from start-up, so rate() and alerts on a fresh
  // server see 0 rather than no data. The results: accepted, duplicate and
  // every error code (Code runs from kOk to kIo, status.hpp).
  updates_->Add({{"result", "accepted"}});
  updates_->Add({{"result", "duplicate"}});
  for (int c = static_cast<int>(Code::kInvalidArgument); c <= static_cast<int>(Code::kIo); ++c) {
    updates_->Add({{"result", std::string(code_name(static_cast<Code>(c)))}});
  }
  staleness_ = &BuildHistogram().Name("edgefed_update_staleness")
                    .Help("Staleness of accepted updates in versions (server version - base version).")
                    .Register(r).Add({}, Histogram::BucketBoundaries{0, 1, 2, 5, 10, 20, 50, 100, 200});
  age_ = &BuildHistogram().Name("edgefed_update_age_seconds")
              .Help("Age of the base model of accepted updates: acceptance time - creation time of base_version.")
              .Register(r).Add({}, Histogram::BucketBoundaries{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900});
  telemetry_ = &BuildCounter().Name("edgefed_telemetry_records_total")
                    .Help("Telemetry records stored (duplicates not counted).")
                    .Register(r).Add({});
  aggregation_ = &BuildHistogram().Name("edgefed_aggregation_seconds")
                      .Help("Wall time to produce a merged version (server step, encode, checkpoint write).")
                      .Register(r).Add({}, Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                       0.1, 0.25, 0.5, 1, 2.5});
  replica_leader_ = &BuildGauge().Name("edgefed_replica_leader")
                         .Help("1 while this server merges versions: the replicas' leader, or a server alone on its "
                               "SQLite store; 0 for a follower replica.")
                         .Register(r).Add({});
  replicas_live_ = &BuildGauge().Name("edgefed_replicas_live")
                        .Help("Replicas of this server's PostgreSQL store with a heartbeat in the last 10 s, this one "
                              "included (1 with SQLite).")
                        .Register(r).Add({});
  replica_skew_ = &BuildGauge().Name("edgefed_replica_clock_skew_seconds")
                       .Help("This replica's clock minus the database server's (0 with SQLite).")
                       .Register(r).Add({});
  replica_lag_ = &BuildGauge().Name("edgefed_replica_lag_versions")
                      .Help("Versions the database holds that this replica has not loaded yet.")
                      .Register(r).Add({});
  leader_elections_ = &BuildCounter().Name("edgefed_leader_elections_total")
                           .Help("Times this replica became the leader that merges versions.")
                           .Register(r).Add({});
  commit_jobs_ = &BuildHistogram().Name("edgefed_store_commit_jobs")
                      .Help("Calls (updates, telemetry batches, admin) carried by one SQLite transaction "
                            "(group commit); the count is the number of transactions.")
                      .Register(r).Add({}, Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256});
  fsync_seconds_ = &BuildHistogram().Name("edgefed_store_fsync_seconds")
                        .Help("Duration of one fsync of the WAL by the pipelined group commit's fsync thread; "
                              "every call it covers waited for it.")
                        .Register(r).Add({}, Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                                         0.05, 0.1, 0.25, 0.5, 1, 2.5});
  fsync_batches_ = &BuildHistogram().Name("edgefed_store_fsync_batches")
                        .Help("Committed transactions one fsync of the WAL made durable (the pipelined group "
                              "commit's second grouping).")
                        .Register(r).Add({}, Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32});
  spool_fallbacks_ = &BuildCounter().Name("edgefed_store_spool_fallbacks_total")
                         .Help("Update bodies stored in the database instead of the update spool (--spool-mb): "
                               "the spool was full of bodies not merged yet, or its write failed.")
                         .Register(r).Add({});
  fsync_failed_ = &BuildGauge().Name("edgefed_store_fsync_failed")
                       .Help("1 once an fsync of the WAL failed: the server refuses every write until it restarts.")
                       .Register(r).Add({});
  auto& serving = BuildGauge().Name("edgefed_serving_version")
                      .Help("The version each serving channel names: stable (what the fleet serves) and canary "
                            "(what the canary cohort tries); -1 = none.")
                      .Register(r);
  serving_stable_ = &serving.Add({{"channel", "stable"}});
  serving_canary_ = &serving.Add({{"channel", "canary"}});
  serving_stable_->Set(-1);
  serving_canary_->Set(-1);
  auto& fleet = BuildGauge().Name("edgefed_version_fleet_validation")
                    .Help("Sample-weighted holdout metric (accuracy, or loss for regression and autoencoders) "
                          "agents reported for the channel's version; NaN until reported.")
                    .Register(r);
  validation_stable_ = &fleet.Add({{"channel", "stable"}});
  validation_canary_ = &fleet.Add({{"channel", "canary"}});
  auto& agents_serving = BuildGauge().Name("edgefed_serving_agents")
                             .Help("Agents by the channel of the version they last reported serving (other: an "
                                   "older or unknown version).")
                             .Register(r);
  serving_agents_stable_ = &agents_serving.Add({{"channel", "stable"}});
  serving_agents_canary_ = &agents_serving.Add({{"channel", "canary"}});
  serving_agents_other_ = &agents_serving.Add({{"channel", "other"}});
  auto& decisions = BuildCounter().Name("edgefed_canary_decisions_total")
                        .Help("Canary versions promoted to stable or rejected by the fleet's validation.")
                        .Register(r);
  promoted_ = &decisions.Add({{"decision", "promoted"}});
  rejected_ = &decisions.Add({{"decision", "rejected"}});
  auto& agents = BuildGauge().Name("edgefed_agents").Help("Known agents by state.").Register(r);
  agents_active_ = &agents.Add({{"state", "active"}});
  agents_idle_ = &agents.Add({{"state", "idle"}});
  agents_offline_ = &agents.Add({{"state", "offline"}});
  agents_quarantined_ = &agents.Add({{"state", "quarantined"}});
  clipped_ = &BuildCounter().Name("edgefed_updates_clipped_total")
                  .Help("Merged updates whose L2 norm exceeded --clip-norm and were scaled down to it.")
                  .Register(r).Add({});
  noise_stddev_ = &BuildGauge().Name("edgefed_dp_noise_stddev")
                       .Help("DP: standard deviation of the Gaussian noise in each coordinate of the newest merged "
                             "delta (z x clip norm / max(n, K)); 0 without DP.")
                       .Register(r).Add({});
  noised_ = &BuildCounter().Name("edgefed_dp_noised_aggregations_total")
                 .Help("Versions merged with DP Gaussian noise added.")
                 .Register(r).Add({});
  aggregator_memory_ = &BuildGauge().Name("edgefed_aggregator_memory_bytes")
                            .Help("Bytes of update data the aggregation strategy holds (fedavg: 8 per parameter; "
                                  "median, trimmed-mean, krum: K x 4 per parameter more).")
                            .Register(r).Add({});
}

void EngineMetrics::set_version(int64_t version) { version_->Set(static_cast<double>(version)); }
void EngineMetrics::set_global_loss(double loss) { loss_->Set(loss); }
void EngineMetrics::set_gradient_variance(double variance) { variance_->Set(variance); }
void EngineMetrics::set_buffered(int64_t updates) { buffered_->Set(static_cast<double>(updates)); }

void EngineMetrics::count_update(std::string_view result) {
  updates_->Add({{"result", std::string(result)}}).Increment();
}

void EngineMetrics::observe_accepted(int64_t staleness, double age_seconds) {
  staleness_->Observe(static_cast<double>(staleness));
  age_->Observe(age_seconds < 0 ? 0 : age_seconds);
}

void EngineMetrics::count_telemetry(int64_t stored) { telemetry_->Increment(static_cast<double>(stored)); }
void EngineMetrics::observe_aggregation(double seconds) { aggregation_->Observe(seconds); }

void EngineMetrics::observe_commit(size_t jobs) { commit_jobs_->Observe(static_cast<double>(jobs)); }
void EngineMetrics::observe_fsync(double seconds, size_t batches) {
  fsync_seconds_->Observe(seconds);
  fsync_batches_->Observe(static_cast<double>(batches));
}
void EngineMetrics::set_fsync_failed() { fsync_failed_->Set(1); }
int64_t EngineMetrics::count_spool_fallback() {
  spool_fallbacks_->Increment();
  return static_cast<int64_t>(spool_fallbacks_->Value());
}

void EngineMetrics::set_agents(int64_t active, int64_t idle, int64_t offline, int64_t quarantined) {
  agents_active_->Set(static_cast<double>(active));
  agents_idle_->Set(static_cast<double>(idle));
  agents_offline_->Set(static_cast<double>(offline));
  agents_quarantined_->Set(static_cast<double>(quarantined));
}

}  // namespace edgefed::server

namespace edgefed::server {

void EngineMetrics::observe_merge(int64_t clipped, double noise_stddev) {
  if (clipped > 0) clipped_->Increment(static_cast<double>(clipped));
  noise_stddev_->Set(noise_stddev);
  if (noise_stddev > 0) noised_->Increment();
}

void EngineMetrics::set_aggregator_memory(size_t bytes) { aggregator_memory_->Set(static_cast<double>(bytes)); }

void EngineMetrics::set_serving(int64_t stable, int64_t canary, double stable_value, double canary_value,
                                int64_t agents_stable, int64_t agents_canary, int64_t agents_other) {
  serving_stable_->Set(static_cast<double>(stable));
  serving_canary_->Set(static_cast<double>(canary));
  validation_stable_->Set(stable_value);
  validation_canary_->Set(canary_value);
  serving_agents_stable_->Set(static_cast<double>(agents_stable));
  serving_agents_canary_->Set(static_cast<double>(agents_canary));
  serving_agents_other_->Set(static_cast<double>(agents_other));
}

void EngineMetrics::set_replica(bool leader, int64_t live, double clock_skew_s, int64_t lag_versions) {
  replica_leader_->Set(leader ? 1 : 0);
  replicas_live_->Set(static_cast<double>(live));
  replica_skew_->Set(clock_skew_s);
  replica_lag_->Set(static_cast<double>(lag_versions));
}

void EngineMetrics::count_leader_election() { leader_elections_->Increment(); }

void EngineMetrics::count_channel_decision(bool promoted) { (promoted ? promoted_ : rejected_)->Increment(); }

}  // namespace edgefed::server
