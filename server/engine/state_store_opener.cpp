#include "server/engine/state_store_opener.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "edgefed/log.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "server/store/store.hpp"
#ifdef EDGEFED_WITH_POSTGRES
#include "server/store/postgres/pg_replica_set.hpp"
#include "server/store/postgres/pg_store.hpp"
#endif

namespace edgefed::server {

namespace {

// Calls open() until it succeeds or fails for another reason than an
// unreachable database, for at most options.store_connect_s seconds, with
// backoff: replicas and their database often start together.
template <typename T, typename Open>
Result<T> with_connect_retries(const EngineOptions& options, const Clock& clock, Open open) {
  const int64_t give_up_ms = clock.monotonic_ms() + static_cast<int64_t>(options.store_connect_s * 1000);
  int64_t wait_ms = 250;
  for (int attempt = 1;; ++attempt) {
    auto opened = open();
    // Only an unreachable database is worth waiting for; a refused
    // password or a foreign schema will not change.
    if (opened.is_ok() || opened.status().code() != Code::kUnavailable ||
        clock.monotonic_ms() + wait_ms > give_up_ms) {
      return opened;
    }
    log::warn("store_unreachable")
        .kv("attempt", attempt)
        .kv("retry_in_ms", wait_ms)
        .kv("error", opened.status().to_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    wait_ms = std::min<int64_t>(wait_ms * 2, 4000);
  }
}

}  // namespace

bool is_postgres_location(const std::string& store) {
  return store.rfind("postgresql://", 0) == 0 || store.rfind("postgres://", 0) == 0;
}

Status check_store_location(const std::string& store) {
  if (store == "sqlite") return Status::ok();
  if (!is_postgres_location(store)) {
    return Status(Code::kInvalidArgument,
                  "--store must be sqlite or a postgresql:// URI, got '" + store.substr(0, 64) + "'");
  }
  // postgresql://[user[:password]@][host][:port][/dbname][?param=value&...]
  const size_t scheme_end = store.find("://") + 3;
  const size_t authority_end = std::min(store.find_first_of("/?", scheme_end), store.size());
  const std::string authority = store.substr(scheme_end, authority_end - scheme_end);
  const size_t at = authority.rfind('@');
  const bool password_in_userinfo = at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos;
  const bool password_param = store.find("password=", authority_end) != std::string::npos;
  if (password_in_userinfo || password_param) {
    return Status(Code::kInvalidArgument,
                  "--store: no password in the URI (it would show in ps and logs); use --store-password-file "
                  "or PGPASSWORD");
  }
#ifndef EDGEFED_WITH_POSTGRES
  return Status(Code::kInvalidArgument, "--store postgresql://: this edgefed-server was built without libpq");
#else
  return Status::ok();
#endif
}

Result<std::unique_ptr<StateStore>> open_state_store(const EngineOptions& options, const Clock& clock) {
  EDGEFED_RETURN_IF_ERROR(check_store_location(options.store));
  if (!is_postgres_location(options.store)) {
    auto store = Store::open(options.state_dir, {.fsync_full = options.fsync_full,
                                                 .defer_sync = options.fsync_pipeline,
                                                 .max_bytes = options.max_db_mb << 20,
                                                 .vfs = options.store_vfs,
                                                 .spool_bytes = options.spool_mb << 20,
                                                 .spool_file = options.store_spool_file});
    if (!store.is_ok()) return store.status();
    return std::unique_ptr<StateStore>(std::move(store).value());
  }
#ifdef EDGEFED_WITH_POSTGRES
  return with_connect_retries<std::unique_ptr<StateStore>>(options, clock, [&]() -> Result<std::unique_ptr<StateStore>> {
    PgConnectOptions pg;
    pg.password_file = options.store_password_file;
    pg.application_name = "edgefed-server";
    auto store = PgStore::open(options.store, pg);
    if (!store.is_ok()) return store.status();
    return std::unique_ptr<StateStore>(std::move(store).value());
  });
#else
  (void)clock;
  return Status(Code::kInvalidArgument, "--store postgresql://: this edgefed-server was built without libpq");
#endif
}

Result<std::unique_ptr<ReplicaSet>> open_replica_set(const EngineOptions& options, const Clock& clock) {
  if (!is_postgres_location(options.store)) return std::unique_ptr<ReplicaSet>();
#ifdef EDGEFED_WITH_POSTGRES
  std::string name = options.replica_name;
  if (name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return Status(Code::kIo, "gethostname failed: give --replica-name");
    name = host;
  }
  PgConnectOptions pg;
  pg.password_file = options.store_password_file;
  pg.application_name = "edgefed-replica " + name;
  return with_connect_retries<std::unique_ptr<ReplicaSet>>(options, clock, [&]() -> Result<std::unique_ptr<ReplicaSet>> {
    auto set = PgReplicaSet::open(options.store, pg, name);
    if (!set.is_ok()) return set.status();
    return std::unique_ptr<ReplicaSet>(std::move(set).value());
  });
#else
  (void)clock;
  return Status(Code::kInvalidArgument, "--store postgresql://: this edgefed-server was built without libpq");
#endif
}

Result<std::string> replica_config_json(const EngineOptions& o) {
  auto spec = ml::ModelSpec::load(o.model_init);
  if (!spec.is_ok()) return Status(Code::kInvalidArgument, "model_init: " + spec.status().message());
  nlohmann::json j = {
      {"model_init", nlohmann::json::parse(spec->canonical_json(), nullptr, false)},
      {"init_seed", o.init_seed},
      {"mode", std::string(enum_name(o.mode))},
      {"min_updates", o.min_updates},
      {"round_timeout_s", o.round_timeout_s},
      {"min_updates_on_timeout", o.min_updates_on_timeout},
      {"sync_stale_policy", std::string(enum_name(o.sync_stale_policy))},
      {"buffer_k", o.buffer_k},
      {"buffer_timeout_s", o.buffer_timeout_s},
      {"staleness_fn", std::string(enum_name(o.staleness_fn))},
      {"staleness_a", o.staleness_a},
      {"staleness_b", o.staleness_b},
      {"max_staleness", o.max_staleness},
      {"server_lr", effective_server_lr(o)},
      {"aggregator", std::string(enum_name(o.aggregator))},
      {"trim_beta", o.trim_beta},
      {"krum_f", o.krum_f},
      {"krum_m", o.krum_m},
      {"clip_norm", o.clip_norm},
      {"dp_noise_multiplier", o.dp_noise_multiplier},
      {"server_optimizer", std::string(enum_name(o.server_optimizer))},
      {"server_momentum", o.server_momentum},
      {"server_beta1", o.server_beta1},
      {"server_beta2", o.server_beta2},
      {"server_tau", o.server_tau},
      {"keep_last_n", o.keep_last_n},
      {"keep_every_m", o.keep_every_m},
      {"canary_fraction", o.channels.canary_fraction},
      {"canary_min_agents", o.channels.canary_min_agents},
      {"canary_threshold", o.channels.threshold},
  };
  return j.dump();
}

}  // namespace edgefed::server
