#include "server/engine/engine_options.hpp"

#include "server/engine/state_store_opener.hpp"

namespace edgefed::server {

namespace {

Status bad(const std::string& message) { return Status(Code::kInvalidArgument, message); }

// Secure aggregation gives the server one sum per session: whatever needs
// the individual updates cannot run with it.
Status validate_secure_aggregation(const EngineOptions& o) {
  if (o.secure_aggregation == SecureAggregation::kOff) return Status::ok();
  const std::string why = " needs each update in the clear; with --secure-aggregation=secagg+ the server only "
                          "learns the sum of a session";
  if (o.aggregator != AggregatorKind::kFedAvg) {
    return bad("--aggregator " + std::string(enum_name(o.aggregator)) + why + " (use --aggregator fedavg)");
  }
  if (!(o.secagg_clip > 0 && o.secagg_clip < 1e9)) return bad("--secagg-clip must be > 0");
  if (o.secagg_min_agents < 3) return bad("--secagg-min-agents must be >= 3 (pairwise masks need a cohort)");
  if (!(o.secagg_phase_timeout_s > 0)) return bad("--secagg-phase-timeout must be > 0");
  if (!(o.secagg_quorum > 0 && o.secagg_quorum <= 1)) return bad("--secagg-quorum must be in (0, 1]");
  if (is_postgres_location(o.store)) {
    return bad("--secure-aggregation keeps its sessions in the SQLite state database: not yet with --store "
               "postgresql://");
  }
  const int64_t k = updates_per_version(o);
  if (k < static_cast<int64_t>(o.secagg_min_agents)) {
    return bad(std::string(o.mode == MergeMode::kSync ? "--min-updates" : "--buffer-k") +
               " is the cohort size of a secure aggregation session: " + std::to_string(k) +
               " is below --secagg-min-agents " + std::to_string(o.secagg_min_agents));
  }
  return Status::ok();
}

// The aggregation strategy and server optimizer, alone and with the mode.
// Messages name the command-line flags: this is what an operator sees.
Status validate_strategy(const EngineOptions& o) {
  const std::string k_flag = o.mode == MergeMode::kSync ? "--min-updates" : "--buffer-k";
  const int64_t k = updates_per_version(o);
  if (o.dp_noise_multiplier > 0 && !(o.clip_norm > 0)) {
    return bad("--dp-noise-multiplier needs --clip-norm > 0: the noise is calibrated to the clip norm");
  }
  if (o.dp_noise_multiplier > 0 && o.aggregator != AggregatorKind::kFedAvg) {
    return bad("--dp-noise-multiplier works with --aggregator fedavg only: the noise is calibrated to the "
               "sensitivity of a sum, not of " + std::string(enum_name(o.aggregator)));
  }
  if (o.aggregator == AggregatorKind::kKrum) {
    if (o.krum_f >= 0 && k <= 2 * o.krum_f + 2) {
      return bad("--aggregator krum needs " + k_flag + " > 2 x --krum-f + 2 = " + std::to_string(2 * o.krum_f + 2) +
                 " (multi-Krum scores each update by its n - f - 2 nearest others), got " + std::to_string(k));
    }
    if (o.krum_m > k - o.krum_f) {
      return bad("--krum-m " + std::to_string(o.krum_m) + " exceeds " + k_flag + " - --krum-f = " +
                 std::to_string(k - o.krum_f) + ": the average would include a hostile update");
    }
  }
  EDGEFED_RETURN_IF_ERROR(check_aggregator(aggregator_options(o)));
  EDGEFED_RETURN_IF_ERROR(validate_secure_aggregation(o));
  if (!(o.server_lr >= 0 && o.server_lr < 1e6)) return bad("server_lr must be >= 0 (0 = the default)");
  return check_server_optimizer(server_optimizer_options(o));
}

}  // namespace

Status validate(const EngineOptions& o) {
  if (o.state_dir.empty()) return bad("state_dir is required");
  EDGEFED_RETURN_IF_ERROR(check_store_location(o.store));
  if (!(o.store_connect_s >= 0)) return bad("--store-connect-timeout must be >= 0");
  if (!(o.replica_poll_s >= 0.01 && o.replica_poll_s <= 60)) return bad("--replica-poll must be in [0.01, 60] seconds");
  if (o.relay) {
    if (o.relay_k < 1) return bad("--relay-k must be >= 1");
    if (!(o.relay_flush_s > 0)) return bad("--relay-flush must be > 0 seconds");
    if (o.aggregator != AggregatorKind::kFedAvg) {
      return bad("--aggregator " + std::string(enum_name(o.aggregator)) +
                 " needs every individual update, and a relay (--upstream) forwards partial sums: run the robust "
                 "aggregator on the central server and --aggregator fedavg here");
    }
    if (o.secure_aggregation != SecureAggregation::kOff)
      return bad("--secure-aggregation: a relay (--upstream) cannot take part in secure aggregation sessions");
    if (o.clip_norm > 0 || o.dp_noise_multiplier > 0)
      return bad("--clip-norm / --dp-noise-multiplier: clip and add noise on the central server, not at a relay "
                 "(--upstream), which forwards partial sums");
    if (check_store_location(o.store).is_ok() && o.store != "sqlite")
      return bad("--store: a relay (--upstream) keeps its outbox in its own SQLite store");
  }
  if (o.min_updates < 1) return bad("min_updates must be >= 1");
  if (o.min_updates_on_timeout < 1) return bad("min_updates_on_timeout must be >= 1");
  if (o.round_timeout_s < 0 || o.buffer_timeout_s < 0) return bad("timeouts must be >= 0");
  if (o.buffer_k < 1) return bad("buffer_k must be >= 1");
  EDGEFED_RETURN_IF_ERROR(StalenessFunction::check(o.staleness_fn, o.staleness_a, o.staleness_b));
  if (o.max_staleness < 0) return bad("max_staleness must be >= 0");
  if (!(o.server_lr >= 0 && o.server_lr < 1e6)) return bad("server_lr must be >= 0 (0 = the mode's default)");
  if (o.task_epochs < 0 || o.task_steps < 0 || (o.task_epochs == 0 && o.task_steps == 0)) {
    return bad("the task needs epochs or steps > 0");
  }
  if (o.task_batch_size < 1) return bad("task_batch_size must be >= 1");
  if (!(o.task_lr > 0)) return bad("task_lr must be > 0");
  if (o.task_momentum < 0 || o.task_momentum >= 1) return bad("task_momentum must be in [0, 1)");
  if (o.keep_last_n < 1) return bad("keep_last_n must be >= 1");
  if (o.keep_every_m < 0) return bad("keep_every_m must be >= 0");
  if (o.max_db_mb < 0) return bad("max_db_mb must be >= 0");
  if (o.spool_mb < 0 || o.spool_mb > (int64_t{1} << 20)) return bad("spool_mb must be in [0, 1048576]");
  if (o.group_commit_max < 1 || o.max_queued_updates < 1) return bad("queue limits must be >= 1");
  if (o.timer_tick_ms < 1) return bad("timer_tick_ms must be >= 1");
  if (!(o.channels.canary_fraction >= 0 && o.channels.canary_fraction <= 1))
    return bad("canary_fraction must be in [0, 1]");
  if (o.channels.canary_min_agents < 1) return bad("canary_min_agents must be >= 1");
  if (!(o.channels.threshold >= 0 && o.channels.threshold <= 1)) return bad("serve_threshold must be in [0, 1]");
  if (o.channels.canary_timeout_ms < 1) return bad("canary_timeout must be > 0");
  if (o.channels.canary_soak_ms < 0) return bad("canary_soak must be >= 0");
  return validate_strategy(o);
}

double effective_server_lr(const EngineOptions& o) {
  if (o.server_lr > 0) return o.server_lr;
  const double sgd = o.mode == MergeMode::kSync ? 1.0 : 0.25;
  switch (o.server_optimizer) {
    case ServerOptimizerKind::kSgd:
      return sgd;
    case ServerOptimizerKind::kFedAvgM:
      return o.server_momentum > 0 ? sgd * (1 - o.server_momentum) : sgd;
    case ServerOptimizerKind::kFedAdagrad:
    case ServerOptimizerKind::kFedAdam:
    case ServerOptimizerKind::kFedYogi:
      break;
  }
  return 0.01;
}

int64_t updates_per_version(const EngineOptions& o) {
  return o.mode == MergeMode::kSync ? o.min_updates : o.buffer_k;
}

AggregatorOptions aggregator_options(const EngineOptions& o) {
  AggregatorOptions a;
  a.kind = o.aggregator;
  a.trim_beta = o.trim_beta;
  a.krum_f = o.krum_f;
  a.krum_m = o.krum_m;
  a.threads = o.aggregation_threads;
  // Under secure aggregation the agents clip and add the DP noise (the
  // task tells them); the server only sees the sum and must not do either
  // a second time.
  const bool on_agents = o.secure_aggregation != SecureAggregation::kOff;
  a.clip_norm = on_agents ? 0.0 : o.clip_norm;
  a.dp_noise_multiplier = on_agents ? 0.0 : o.dp_noise_multiplier;
  a.dp_seed = o.dp_seed;
  a.expected_count = updates_per_version(o);
  return a;
}

ServerOptimizerOptions server_optimizer_options(const EngineOptions& o) {
  ServerOptimizerOptions s;
  s.kind = o.server_optimizer;
  s.lr = effective_server_lr(o);
  s.momentum = o.server_momentum;
  s.beta1 = o.server_beta1;
  s.beta2 = o.server_beta2;
  s.tau = o.server_tau;
  return s;
}

}  // namespace edgefed::server
