#include "server/engine/state_store_opener.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "edgefed/log.hpp"
#include "server/store/store.hpp"
#ifdef EDGEFED_WITH_POSTGRES
#include "server/store/postgres/pg_store.hpp"
#endif

namespace edgefed::server {

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
                                                 .max_bytes = options.max_db_mb << 20,
                                                 .vfs = options.store_vfs});
    if (!store.is_ok()) return store.status();
    return std::unique_ptr<StateStore>(std::move(store).value());
  }
#ifdef EDGEFED_WITH_POSTGRES
  const int64_t give_up_ms = clock.monotonic_ms() + static_cast<int64_t>(options.store_connect_s * 1000);
  int64_t wait_ms = 250;
  for (int attempt = 1;; ++attempt) {
    PgConnectOptions pg;
    pg.password_file = options.store_password_file;
    pg.application_name = "edgefed-server";
    auto store = PgStore::open(options.store, pg);
    if (store.is_ok()) return std::unique_ptr<StateStore>(std::move(store).value());
    // Only an unreachable database is worth waiting for; a refused
    // password or a foreign schema will not change.
    if (store.status().code() != Code::kUnavailable || clock.monotonic_ms() + wait_ms > give_up_ms) {
      return store.status();
    }
    log::warn("store_unreachable")
        .kv("attempt", attempt)
        .kv("retry_in_ms", wait_ms)
        .kv("error", store.status().to_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    wait_ms = std::min<int64_t>(wait_ms * 2, 4000);
  }
#else
  (void)clock;
  return Status(Code::kInvalidArgument, "--store postgresql://: this edgefed-server was built without libpq");
#endif
}

}  // namespace edgefed::server
