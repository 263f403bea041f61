#include "server/store/postgres/pg_store.hpp"

#include "server/store/postgres/pg_schema.hpp"

namespace edgefed::server {

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& conninfo, const PgConnectOptions& options) {
  auto conn = PgConnection::connect(conninfo, options);
  if (!conn.is_ok()) return conn.status();
  auto owned = std::make_unique<PgConnection>(std::move(conn).value());
  EDGEFED_RETURN_IF_ERROR(ensure_pg_schema(*owned));
  return std::unique_ptr<PgStore>(new PgStore(std::move(owned), conninfo, options));
}

Status PgStore::reconnect() {
  if (!conn_->is_broken()) return Status::ok();
  auto fresh = PgConnection::connect(conninfo_, options_);
  if (!fresh.is_ok()) return fresh.status();
  *conn_ = std::move(fresh).value();
  return Status::ok();
}

}  // namespace edgefed::server
