#include "server/secagg/stored_session_sink.hpp"

#include <utility>

namespace edgefed::server {

Result<std::unique_ptr<StoredSessionSink>> StoredSessionSink::open(const std::string& state_dir,
                                                                   const StoreOptions& options, const Clock& clock) {
  auto store = Store::open(state_dir, options);
  if (!store.is_ok()) return store.status();
  return std::unique_ptr<StoredSessionSink>(new StoredSessionSink(std::move(store).value(), clock));
}

template <typename Write>
Status StoredSessionSink::in_transaction(Write write) {
  sqlite::Database& db = store_->db();
  EDGEFED_RETURN_IF_ERROR(db.begin());
  Status st = write(store_->secagg_sessions());
  if (st.is_ok()) st = db.commit();
  // A failed commit may leave the transaction open (database.hpp): roll it
  // back either way, so nothing of the failed call stays for the next one
  // to commit by accident.
  if (!st.is_ok()) db.rollback();
  return st;
}

Status StoredSessionSink::save(const std::string& session, std::span<const uint8_t> snapshot) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.unix_ms();
  return in_transaction([&](SecAggSessionTable& t) { return t.put_snapshot(session, snapshot, now); });
}

Status StoredSessionSink::erase(const std::string& session) {
  std::lock_guard lock(mu_);
  return in_transaction([&](SecAggSessionTable& t) { return t.erase(session); });
}

Status StoredSessionSink::put_info(const std::string& session, const std::string& info_json) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.unix_ms();
  return in_transaction([&](SecAggSessionTable& t) { return t.put_info(session, info_json, now); });
}

Result<std::vector<SecAggSessionRow>> StoredSessionSink::list() {
  std::lock_guard lock(mu_);
  return store_->secagg_sessions().list();
}

}  // namespace edgefed::server
