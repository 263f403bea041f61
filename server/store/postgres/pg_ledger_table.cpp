#include "server/store/postgres/pg_ledger_table.hpp"

#include <algorithm>

#include "server/store/postgres/pg_values.hpp"

namespace edgefed::server {

namespace {

// Doubles as text casts: the same columns read from text and binary results.
constexpr const char* kLedgerColumns =
    "id, agent, update_id, body_sha256, accepted_unix_ms, accepted_version, base_version, num_samples, "
    "train_loss::text, staleness, weight::text, norm2::text, ack, consumed_by_version";

constexpr int kPendingBatch = 32;

LedgerEntry read_entry(const PgResult& r, int row) {
  LedgerEntry e;
  e.id = r.get_int64(row, 0);
  e.agent = std::string(r.get_text(row, 1));
  e.update_id = std::string(r.get_text(row, 2));
  e.body_digest = std::string(r.get_text(row, 3));
  e.accepted_unix_ms = r.get_int64(row, 4);
  e.accepted_version = r.get_int64(row, 5);
  e.base_version = r.get_int64(row, 6);
  e.num_samples = r.get_int64(row, 7);
  e.train_loss = pgv::get_double(r, row, 8);
  e.staleness = r.get_int64(row, 9);
  e.weight = pgv::get_double(r, row, 10);
  e.norm2 = pgv::get_double(r, row, 11);
  e.ack_json = std::string(r.get_text(row, 12));
  if (!r.is_null(row, 13)) e.consumed_by_version = r.get_int64(row, 13);
  return e;
}

Result<int64_t> single_int(PgConnection& conn, const char* sql) {
  auto res = conn.query(sql);
  if (!res.is_ok()) return res.status();
  return res->get_int64(0, 0);
}

}  // namespace

Result<std::optional<LedgerEntry>> PgLedgerTable::find(const std::string& agent, const std::string& update_id) {
  auto res = conn_.query(std::string("SELECT ") + kLedgerColumns + " FROM ledger WHERE agent = $1 AND update_id = $2",
                         {PgParam::text(agent), PgParam::text(update_id)});
  if (!res.is_ok()) return res.status();
  std::optional<LedgerEntry> out;
  if (res->rows() > 0) out = read_entry(*res, 0);
  return out;
}

Result<int64_t> PgLedgerTable::insert(const LedgerEntry& e, std::span<const uint8_t> payload) {
  // ON CONFLICT DO NOTHING: a duplicate must not abort the caller's
  // transaction (SQLite's constraint error leaves it usable).
  auto res = conn_.query(
      "INSERT INTO ledger(agent, update_id, body_sha256, accepted_unix_ms, accepted_version, base_version, "
      "num_samples, train_loss, staleness, weight, norm2, ack, payload) "
      "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
      "ON CONFLICT (agent, update_id) DO NOTHING RETURNING id",
      {PgParam::text(e.agent), PgParam::text(e.update_id), PgParam::text(e.body_digest),
       PgParam::int64(e.accepted_unix_ms), PgParam::int64(e.accepted_version), PgParam::int64(e.base_version),
       PgParam::int64(e.num_samples), PgParam::text(pgv::double_text(e.train_loss)), PgParam::int64(e.staleness),
       PgParam::text(pgv::double_text(e.weight)), PgParam::text(pgv::double_text(e.norm2)),
       PgParam::text(e.ack_json), PgParam::bytes(payload)});
  if (!res.is_ok()) return res.status();
  if (res->rows() == 0) {
    return Status(Code::kConflict,
                  "postgres: ledger: update " + e.update_id + " of agent " + e.agent + " is already stored");
  }
  return res->get_int64(0, 0);
}

Status PgLedgerTable::for_each_pending(const PendingFn& fn) {
  // In batches by id: bounded memory for a large backlog of bodies, and fn
  // may use the connection (this table included) between rows.
  int64_t after = 0;
  for (;;) {
    auto res = conn_.query(std::string("SELECT ") + kLedgerColumns +
                               ", payload FROM ledger WHERE consumed_by_version IS NULL AND id > $1 "
                               "ORDER BY id LIMIT " + std::to_string(kPendingBatch),
                           {PgParam::int64(after)}, PgFormat::kBinary);
    if (!res.is_ok()) return res.status();
    const int rows = res->rows();
    for (int i = 0; i < rows; ++i) {
      const LedgerEntry e = read_entry(*res, i);
      const std::string_view body = res->get_text(i, 14);  // binary: the bytes as stored
      EDGEFED_RETURN_IF_ERROR(fn(e, {reinterpret_cast<const uint8_t*>(body.data()), body.size()}));
      after = e.id;
    }
    if (rows < kPendingBatch) return Status::ok();
  }
}

Result<int64_t> PgLedgerTable::consume_pending(int64_t version) {
  auto res = conn_.query("UPDATE ledger SET consumed_by_version = $1, payload = NULL WHERE consumed_by_version IS NULL",
                         {PgParam::int64(version)});
  if (!res.is_ok()) return res.status();
  return res->rows_affected();
}

Result<std::vector<int64_t>> PgLedgerTable::pending_ids() {
  auto res = conn_.query("SELECT id FROM ledger WHERE consumed_by_version IS NULL ORDER BY id");
  if (!res.is_ok()) return res.status();
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(res->rows()));
  for (int i = 0; i < res->rows(); ++i) out.push_back(res->get_int64(i, 0));
  return out;
}

namespace {

// A bigint[] literal: {1,2,3}.
std::string id_array(std::span<const int64_t> ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

}  // namespace

Status PgLedgerTable::for_each_pending_of(std::span<const int64_t> ids, const PendingFn& fn) {
  // In batches, as for_each_pending: bounded memory, and fn may use the
  // connection between rows.
  for (size_t from = 0; from < ids.size(); from += kPendingBatch) {
    const auto batch = ids.subspan(from, std::min<size_t>(kPendingBatch, ids.size() - from));
    auto res = conn_.query(std::string("SELECT ") + kLedgerColumns +
                               ", payload FROM ledger WHERE id = ANY($1::bigint[]) AND consumed_by_version IS NULL "
                               "ORDER BY id",
                           {PgParam::text(id_array(batch))}, PgFormat::kBinary);
    if (!res.is_ok()) return res.status();
    for (int i = 0; i < res->rows(); ++i) {
      const LedgerEntry e = read_entry(*res, i);
      const std::string_view body = res->get_text(i, 14);
      EDGEFED_RETURN_IF_ERROR(fn(e, {reinterpret_cast<const uint8_t*>(body.data()), body.size()}));
    }
  }
  return Status::ok();
}

Result<int64_t> PgLedgerTable::consume(int64_t version, std::span<const int64_t> ids) {
  // Under READ COMMITTED a row another transaction consumed meanwhile is
  // re-checked after its commit and no longer matches: it is not counted.
  auto res = conn_.query(
      "UPDATE ledger SET consumed_by_version = $1, payload = NULL "
      "WHERE id = ANY($2::bigint[]) AND consumed_by_version IS NULL",
      {PgParam::int64(version), PgParam::text(id_array(ids))});
  if (!res.is_ok()) return res.status();
  return res->rows_affected();
}

Result<std::vector<MergedUpdate>> PgLedgerTable::merged_into(int64_t version) {
  auto res = conn_.query(
      "SELECT agent, update_id, weight::text, staleness FROM ledger WHERE consumed_by_version = $1 ORDER BY id",
      {PgParam::int64(version)});
  if (!res.is_ok()) return res.status();
  std::vector<MergedUpdate> out;
  out.reserve(static_cast<size_t>(res->rows()));
  for (int i = 0; i < res->rows(); ++i) {
    out.push_back({std::string(res->get_text(i, 0)), std::string(res->get_text(i, 1)), pgv::get_double(*res, i, 2),
                   res->get_int64(i, 3)});
  }
  return out;
}

Result<int64_t> PgLedgerTable::count_accepted() { return single_int(conn_, "SELECT count(*) FROM ledger"); }

Result<int64_t> PgLedgerTable::count_merged() {
  return single_int(conn_, "SELECT count(*) FROM ledger WHERE consumed_by_version >= 0");
}

Result<int64_t> PgLedgerTable::samples_merged() {
  return single_int(conn_,
                    "SELECT COALESCE(SUM(num_samples), 0)::bigint FROM ledger WHERE consumed_by_version >= 0");
}

Result<std::vector<std::string>> PgLedgerTable::update_ids_of(const std::string& agent) {
  auto res = conn_.query("SELECT update_id FROM ledger WHERE agent = $1 ORDER BY id", {PgParam::text(agent)});
  if (!res.is_ok()) return res.status();
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(res->rows()));
  for (int i = 0; i < res->rows(); ++i) out.emplace_back(res->get_text(i, 0));
  return out;
}

}  // namespace edgefed::server
