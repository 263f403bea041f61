#include "server/store/ledger_table.hpp"

#include "server/store/update_spool.hpp"

namespace edgefed::server {

namespace {

constexpr const char* kLedgerColumns =
    "id, agent, update_id, body_sha256, accepted_unix_ms, accepted_version, base_version, num_samples, "
    "train_loss, staleness, weight, norm2, ack, consumed_by_version";

LedgerEntry read_entry(const sqlite::Statement& s) {
  LedgerEntry e;
  e.id = s.column_int(0);
  e.agent = s.column_text(1);
  e.update_id = s.column_text(2);
  e.body_digest = s.column_text(3);
  e.accepted_unix_ms = s.column_int(4);
  e.accepted_version = s.column_int(5);
  e.base_version = s.column_int(6);
  e.num_samples = s.column_int(7);
  e.train_loss = s.column_double(8);
  e.staleness = s.column_int(9);
  e.weight = s.column_double(10);
  e.norm2 = s.column_double(11);
  e.ack_json = s.column_text(12);
  if (!s.column_is_null(13)) e.consumed_by_version = s.column_int(13);
  return e;
}

Result<int64_t> single_int(sqlite::Database& db, const std::string& sql) {
  auto st = db.cached(sql);
  if (!st.is_ok()) return st.status();
  return (*st)->first_int();
}

}  // namespace

Result<std::optional<LedgerEntry>> LedgerTable::find(const std::string& agent, const std::string& update_id) {
  auto st = db_.cached(std::string("SELECT ") + kLedgerColumns + " FROM ledger WHERE agent = ?1 AND update_id = ?2");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  s.bind(1, agent).bind(2, update_id);
  auto row = s.step();
  if (!row.is_ok()) return row.status();
  std::optional<LedgerEntry> out;
  if (*row) out = read_entry(s);
  s.reset();
  return out;
}

Result<int64_t> LedgerTable::insert(const LedgerEntry& e, std::span<const uint8_t> payload) {
  auto st = db_.cached(
      "INSERT INTO ledger(agent, update_id, body_sha256, accepted_unix_ms, accepted_version, base_version, "
      "num_samples, train_loss, staleness, weight, norm2, ack, payload, spool_offset, spool_length) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) RETURNING id");
  if (!st.is_ok()) return st.status();
  if (e.spooled && spool_ == nullptr) {
    return Status(Code::kInternal, "ledger: a spooled body, but this store has no update spool");
  }
  sqlite::Statement& s = **st;
  s.bind(1, e.agent).bind(2, e.update_id).bind(3, e.body_digest).bind(4, e.accepted_unix_ms);
  s.bind(5, e.accepted_version).bind(6, e.base_version).bind(7, e.num_samples).bind(8, e.train_loss);
  s.bind(9, e.staleness).bind(10, e.weight).bind(11, e.norm2).bind(12, e.ack_json);
  if (e.spooled) {
    s.bind_null(13).bind(14, e.spooled->offset).bind(15, e.spooled->length);
  } else {
    s.bind_blob(13, payload).bind_null(14).bind_null(15);
  }
  auto row = s.step();
  if (!row.is_ok()) return row.status();
  const int64_t id = *row ? s.column_int(0) : 0;
  Status done = s.run();
  s.reset();
  if (!done.is_ok()) return done;
  return id;
}

Status LedgerTable::for_each_pending(const PendingFn& fn) {
  // Not cached: fn may use this table (and the cache) while we iterate.
  auto st = db_.prepare(std::string("SELECT ") + kLedgerColumns +
                        ", payload, spool_offset, spool_length FROM ledger WHERE consumed_by_version IS NULL "
                        "ORDER BY id");
  if (!st.is_ok()) return st.status();
  for (;;) {
    auto row = st->step();
    if (!row.is_ok()) return row.status();
    if (!*row) return Status::ok();
    EDGEFED_RETURN_IF_ERROR(deliver(*st, fn));
  }
}

Status LedgerTable::deliver(const sqlite::Statement& st, const PendingFn& fn) {
  LedgerEntry e = read_entry(st);
  if (st.column_is_null(15)) return fn(e, st.column_blob(14));
  e.spooled = SpoolExtent{st.column_int(15), st.column_int(16)};
  if (spool_ == nullptr) {
    return Status(Code::kInternal, "ledger row " + e.agent + "/" + e.update_id +
                                       " keeps its body in the update spool, which this store did not open");
  }
  auto body = spool_->read(*e.spooled);
  if (body.is_ok()) return fn(e, *body);
  // Not there: the body did not reach the disk before a crash, so the
  // update was never acknowledged (its ack waits for the spool's fsync).
  // The caller drops the row. A read error is not that: it stops here.
  if (body.status().code() != Code::kNotFound) return body.status();
  e.body_lost = true;
  return fn(e, {});
}

Result<int64_t> LedgerTable::run_consume(sqlite::Statement& s) {
  // One row per consumed ledger row: its spool offset, or -1.
  auto offsets = s.all_ints();
  if (!offsets.is_ok()) return offsets.status();
  if (released_ != nullptr) {
    for (const int64_t o : *offsets)
      if (o >= 0) released_->push_back(o);
  }
  return static_cast<int64_t>(offsets->size());
}

Result<int64_t> LedgerTable::consume_pending(int64_t version) {
  auto st = db_.cached(
      "UPDATE ledger SET consumed_by_version = ?1, payload = NULL WHERE consumed_by_version IS NULL "
      "RETURNING coalesce(spool_offset, -1)");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, version);
  return run_consume(**st);
}

Result<std::vector<int64_t>> LedgerTable::pending_ids() {
  auto st = db_.cached("SELECT id FROM ledger WHERE consumed_by_version IS NULL ORDER BY id");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  std::vector<int64_t> out;
  for (;;) {
    auto row = s.step();
    if (!row.is_ok()) {
      s.reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back(s.column_int(0));
  }
  s.reset();
  return out;
}

Status LedgerTable::for_each_pending_of(std::span<const int64_t> ids, const PendingFn& fn) {
  // One row at a time, not cached: fn may use this table meanwhile.
  auto st = db_.prepare(std::string("SELECT ") + kLedgerColumns +
                        ", payload, spool_offset, spool_length FROM ledger WHERE id = ?1 AND "
                        "consumed_by_version IS NULL");
  if (!st.is_ok()) return st.status();
  for (const int64_t id : ids) {
    st->bind(1, id);
    auto row = st->step();
    if (!row.is_ok()) return row.status();
    if (*row) {
      Status s = deliver(*st, fn);
      st->reset();
      EDGEFED_RETURN_IF_ERROR(s);
    } else {
      st->reset();
    }
  }
  return Status::ok();
}

Result<int64_t> LedgerTable::consume(int64_t version, std::span<const int64_t> ids) {
  auto st = db_.cached(
      "UPDATE ledger SET consumed_by_version = ?1, payload = NULL WHERE id = ?2 AND consumed_by_version IS NULL "
      "RETURNING coalesce(spool_offset, -1)");
  if (!st.is_ok()) return st.status();
  int64_t n = 0;
  for (const int64_t id : ids) {
    (*st)->bind(1, version).bind(2, id);
    auto consumed = run_consume(**st);
    if (!consumed.is_ok()) return consumed.status();
    n += *consumed;
  }
  return n;
}

Result<std::vector<MergedUpdate>> LedgerTable::merged_into(int64_t version) {
  auto st = db_.cached(
      "SELECT agent, update_id, weight, staleness FROM ledger WHERE consumed_by_version = ?1 ORDER BY id");
  if (!st.is_ok()) return st.status();
  sqlite::Statement& s = **st;
  s.bind(1, version);
  std::vector<MergedUpdate> out;
  for (;;) {
    auto row = s.step();
    if (!row.is_ok()) return row.status();
    if (!*row) break;
    out.push_back({s.column_text(0), s.column_text(1), s.column_double(2), s.column_int(3)});
  }
  s.reset();
  return out;
}

Result<int64_t> LedgerTable::count_accepted() { return single_int(db_, "SELECT count(*) FROM ledger"); }

Result<int64_t> LedgerTable::count_merged() {
  return single_int(db_, "SELECT count(*) FROM ledger WHERE consumed_by_version >= 0");
}

Result<int64_t> LedgerTable::samples_merged() {
  return single_int(db_, "SELECT COALESCE(SUM(num_samples), 0) FROM ledger WHERE consumed_by_version >= 0");
}

Result<std::vector<std::string>> LedgerTable::update_ids_of(const std::string& agent) {
  auto st = db_.cached("SELECT update_id FROM ledger WHERE agent = ?1 ORDER BY id");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, agent);
  std::vector<std::string> out;
  for (;;) {
    auto row = (*st)->step();
    if (!row.is_ok()) return row.status();
    if (!*row) break;
    out.push_back((*st)->column_text(0));
  }
  (*st)->reset();
  return out;
}

}  // namespace edgefed::server
