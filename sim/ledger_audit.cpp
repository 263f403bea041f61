#include "ledger_audit.hpp"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "edgefed/sqlite/database.hpp"

#include "agent/outbox/outbox.hpp"
#include "server/store/read_only_store.hpp"
#include "server/store/records.hpp"

namespace edgefed::sim {
namespace {

// Telemetry acks are journaled as seq ranges "FIRST-LAST".
void add_range(const std::string& ref, std::set<int64_t>& out) {
  const auto dash = ref.find('-');
  if (dash == std::string::npos) return;
  const int64_t a = std::stoll(ref.substr(0, dash)), b = std::stoll(ref.substr(dash + 1));
  for (int64_t s = a; s <= b && b - a < 10'000'000; ++s) out.insert(s);
}

template <typename T>
int64_t missing_from(const std::set<T>& wanted, const std::set<T>& have) {
  int64_t n = 0;
  for (const auto& x : wanted) n += have.count(x) ? 0 : 1;
  return n;
}

}  // namespace

Result<AuditResult> audit_ledger(const std::string& server_db, const std::string& agents_dir,
                                 const std::vector<std::string>& agent_ids) {
  auto server = server::ReadOnlyStore::open(server_db);
  if (!server) return server.status();
  AuditResult r;
  auto merged = (*server)->updates_merged();
  auto in_versions = (*server)->updates_claimed_by_versions();
  auto samples = (*server)->samples_merged();
  if (!merged) return merged.status();
  if (!in_versions) return in_versions.status();
  if (!samples) return samples.status();
  r.merged = *merged;
  r.samples_merged = *samples;
  // A version that claims more merged updates than the ledger consumed merged
  // something twice.
  if (*in_versions > *merged) r.double_counted += *in_versions - *merged;
  auto sums = (*server)->update_ids_of(server::kSecAggLedgerAgent);
  if (!sums) return sums.status();
  const std::set<std::string> sessions(sums->begin(), sums->end());
  r.secagg_sessions_merged = static_cast<int64_t>(sessions.size());

  for (const auto& id : agent_ids) {
    std::set<std::string> acked_ids;
    std::set<int64_t> acked_seqs;
    auto journal = agent::Outbox::read_journal(agents_dir + "/" + id + "/outbox.db", "acked");
    if (!journal) return journal.status();
    for (const auto& e : *journal) {
      if (e.kind == "update") acked_ids.insert(e.ref);
      else if (e.kind == "telemetry") add_range(e.ref, acked_seqs);
    }
    // Secure aggregation: each round that ended "done" must be in a merged sum.
    auto rounds = agent::Outbox::read_journal(agents_dir + "/" + id + "/outbox.db", "done");
    if (!rounds) return rounds.status();
    std::set<std::string> done_sessions;
    for (const auto& e : *rounds)
      if (e.kind == "secagg_round") done_sessions.insert(e.ref);
    r.secagg_rounds_done += static_cast<int64_t>(done_sessions.size());
    r.lost += missing_from(done_sessions, sessions);
    auto ids = (*server)->update_ids_of(id);
    if (!ids) return ids.status();
    auto seqs = (*server)->telemetry_seqs_of(id);
    if (!seqs) return seqs.status();
    const std::set<std::string> stored_ids(ids->begin(), ids->end());
    const std::set<int64_t> stored_seqs(seqs->begin(), seqs->end());
    const auto stored_rows = static_cast<int64_t>(ids->size());
    const auto stored_tel_rows = static_cast<int64_t>(seqs->size());
    r.server_updates += stored_rows;
    r.server_telemetry += stored_tel_rows;
    r.acked_updates += static_cast<int64_t>(acked_ids.size());
    r.acked_telemetry += static_cast<int64_t>(acked_seqs.size());
    r.lost += missing_from(acked_ids, stored_ids) + missing_from(acked_seqs, stored_seqs);
    r.unconfirmed += missing_from(stored_ids, acked_ids) + missing_from(stored_seqs, acked_seqs);
    // The schema's UNIQUE keys forbid these; counted anyway, this is the audit.
    r.double_counted += stored_rows - static_cast<int64_t>(stored_ids.size());
    r.double_counted += stored_tel_rows - static_cast<int64_t>(stored_seqs.size());
  }
  return r;
}

Result<RelayBatchAudit> audit_relay_batches(const std::string& relay_db, const std::string& central_db,
                                            const std::string& relay_agent_id) {
  sqlite::OpenOptions ro;
  ro.read_only = true;
  auto relay = sqlite::Database::open(relay_db, ro);
  if (!relay) return relay.status();
  auto central = sqlite::Database::open(central_db, ro);
  if (!central) return central.status();
  // The central ledger's rows of this relay: update_id -> merged?
  std::map<std::string, bool> upstream;
  {
    auto st = (*central)->prepare("SELECT update_id, consumed_by_version FROM ledger WHERE agent = ?1");
    if (!st) return st.status();
    st->bind(1, relay_agent_id);
    for (;;) {
      auto row = st->step();
      if (!row) return row.status();
      if (!*row) break;
      upstream[st->column_text(0)] = !st->column_is_null(1) && st->column_int(1) >= 0;
    }
  }
  RelayBatchAudit a;
  std::map<int64_t, int> in_batches;  // relay ledger id -> batches it is in
  {
    auto st = (*relay)->prepare("SELECT update_id, updates, ledger_ids, result FROM relay_batches");
    if (!st) return st.status();
    for (;;) {
      auto row = st->step();
      if (!row) return row.status();
      if (!*row) break;
      const std::string update_id = st->column_text(0);
      const int64_t updates = st->column_int(1);
      const std::string result = st->column_text(3);
      const auto ids = nlohmann::json::parse(st->column_text(2), nullptr, false);
      if (result == "accepted" || result == "duplicate") {
        ++a.accepted;
        auto it = upstream.find(update_id);
        if (it == upstream.end()) {
          a.lost += updates;  // acknowledged upstream, yet not in the central ledger
          continue;
        }
        a.updates_forwarded += updates;
        if (it->second) a.updates_merged_centrally += updates;
        if (ids.is_array())
          for (const auto& id : ids) ++in_batches[id.get<int64_t>()];
      } else if (!result.empty()) {
        ++a.refused;
        a.updates_refused += updates;
        if (ids.is_array())
          for (const auto& id : ids) ++in_batches[id.get<int64_t>()];
      }
    }
  }
  // Every relay ledger row: in exactly one accepted batch.
  auto st = (*relay)->prepare("SELECT id, consumed_by_version FROM ledger");
  if (!st) return st.status();
  for (;;) {
    auto row = st->step();
    if (!row) return row.status();
    if (!*row) break;
    const auto it = in_batches.find(st->column_int(0));
    if (it == in_batches.end()) {
      // Discarded rows (a replaced layout) are not lost; pending or
      // unsent ones are, once the run is over.
      if (st->column_is_null(1) || st->column_int(1) != server::kDiscarded) ++a.lost;
    } else if (it->second > 1) {
      a.double_counted += it->second - 1;
    }
  }
  return a;
}

Result<int64_t> relay_unsent(const std::string& relay_db, int64_t cutoff_unix_ms) {
  sqlite::OpenOptions ro;
  ro.read_only = true;
  auto relay = sqlite::Database::open(relay_db, ro);
  if (!relay) return relay.status();
  int64_t n = 0;
  for (const char* sql : {"SELECT count(*) FROM ledger WHERE consumed_by_version IS NULL AND accepted_unix_ms <= ?1",
                          "SELECT count(*) FROM relay_batches WHERE sent_unix_ms IS NULL AND "
                          "created_unix_ms <= ?1"}) {
    auto st = (*relay)->prepare(sql);
    if (!st) return st.status();
    st->bind(1, cutoff_unix_ms);
    auto row = st->step();
    if (!row) return row.status();
    if (*row) n += st->column_int(0);
  }
  return n;
}

}  // namespace edgefed::sim
