// The store test suite both implementations pass (issue 20: one interface,
// two implementations): every test case runs against the SQLite store
// (Store, a file in a scratch directory) and the PostgreSQL store (PgStore,
// a real server started once per test process, a fresh schema per test
// case), through two fixtures that expose the tables under the same names.
// The checks are those of the SQLite store's own tests (../*_test.cpp) for
// each table, plus transactions: a rollback leaves nothing, a commit
// survives a reopen (a new file handle; a new connection), a duplicate
// inside a transaction leaves it usable, a foreign schema version is
// refused. One more test case, PostgreSQL only, covers what only a shared
// database has: replicas creating the schema at once, and one update_id
// sent to two replicas.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "postgres_instance.hpp"
#include "scratch_dir.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/postgres/pg_store.hpp"
#include "server/store/store.hpp"

using edgefed::Code;
using edgefed::Result;
using edgefed::Status;
using edgefed::TelemetryRecord;
using namespace edgefed::server;

namespace {

Status contract_open_status(const Status& st) { return st; }

// The SQLite store in a scratch directory; reopen() closes the file and
// opens it again.
struct SqliteFixture {
  edgefed::testing::ScratchDir dir{"edgefed-contract"};
  std::unique_ptr<Store> store;

  SqliteFixture() { REQUIRE(try_reopen().is_ok()); }
  std::string state() const { return dir.path() + "/state"; }
  Status try_reopen() {
    store.reset();
    StoreOptions options;
    options.fsync_full = false;
    auto s = Store::open(state(), options);
    if (!s.is_ok()) return contract_open_status(s.status());
    store = std::move(s).value();
    return Status::ok();
  }
  void reopen() {
    const Status st = try_reopen();
    INFO(st.to_string());
    REQUIRE(st.is_ok());
  }

  LedgerTable& ledger() { return store->ledger(); }
  VersionTable& versions() { return store->versions(); }
  AgentTable& agents() { return store->agents(); }
  TelemetryTable& telemetry() { return store->telemetry(); }
  ChannelTable& channels() { return store->channels(); }
  Status begin() { return store->db().begin(); }
  Status commit() { return store->db().commit(); }
  void rollback() { store->db().rollback(); }

  std::string telemetry_json(const std::string& agent, int64_t seq) {
    auto st = store->db().cached("SELECT json FROM telemetry WHERE agent = ?1 AND seq = ?2");
    REQUIRE(st.is_ok());
    (*st)->bind(1, agent).bind(2, seq);
    auto row = (*st)->step();
    REQUIRE(row.is_ok());
    const std::string json = *row ? (*st)->column_text(0) : "";
    (*st)->reset();
    return json;
  }
  // Writes another schema version, as a newer server would have.
  void write_schema_version(const std::string& version) {
    store.reset();
    auto db = edgefed::sqlite::Database::open(Store::database_path(state()));
    REQUIRE(db.is_ok());
    REQUIRE((*db)->exec("UPDATE meta SET value = '" + version + "' WHERE key = 'schema_version'").is_ok());
  }
};

// One PostgreSQL server per test process, started on first use (CTest runs
// each test case as a process of its own; a whole-binary run shares it).
edgefed::testing::PostgresInstance& contract_pg() {
  static edgefed::testing::PostgresInstance pg("contract");
  return pg;
}

PgConnection contract_pg_connect(const std::string& conninfo) {
  auto conn = PgConnection::connect(conninfo);
  INFO(conn.status().to_string());
  REQUIRE(conn.is_ok());
  return std::move(conn).value();
}

// The PostgreSQL store in a schema of its own (search_path), so test cases
// sharing the server never see each other's rows; reopen() is a new
// connection.
struct PgFixture {
  std::string conninfo;
  std::unique_ptr<PgStore> store;

  PgFixture() {
    static int next = 0;
    const std::string schema = "contract_" + std::to_string(++next);
    PgConnection admin = contract_pg_connect(contract_pg().socket_conninfo());
    REQUIRE(admin.exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema).is_ok());
    conninfo = contract_pg().socket_conninfo() + " options='-c search_path=" + schema + "'";
    reopen();
  }
  Status try_reopen() {
    store.reset();
    auto s = PgStore::open(conninfo);
    if (!s.is_ok()) return contract_open_status(s.status());
    store = std::move(s).value();
    return Status::ok();
  }
  void reopen() {
    const Status st = try_reopen();
    INFO(st.to_string());
    REQUIRE(st.is_ok());
  }

  PgLedgerTable& ledger() { return store->ledger(); }
  PgVersionTable& versions() { return store->versions(); }
  PgAgentTable& agents() { return store->agents(); }
  PgTelemetryTable& telemetry() { return store->telemetry(); }
  PgChannelTable& channels() { return store->channels(); }
  Status begin() { return store->begin(); }
  Status commit() { return store->commit(); }
  void rollback() { store->rollback(); }

  std::string telemetry_json(const std::string& agent, int64_t seq) {
    auto res = store->conn().query("SELECT json FROM telemetry WHERE agent = $1 AND seq = $2",
                                   {PgParam::text(agent), PgParam::int64(seq)});
    REQUIRE(res.is_ok());
    return res->rows() > 0 ? std::string(res->get_text(0, 0)) : "";
  }
  void write_schema_version(const std::string& version) {
    store.reset();
    PgConnection conn = contract_pg_connect(conninfo);
    REQUIRE(conn.exec("UPDATE meta SET value = '" + version + "' WHERE key = 'schema_version'").is_ok());
  }
};

std::span<const uint8_t> contract_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

LedgerEntry contract_entry(const std::string& agent, const std::string& id, double weight) {
  LedgerEntry e;
  e.agent = agent;
  e.update_id = id;
  e.body_digest = "h-" + id;
  e.num_samples = 10;
  e.weight = weight;
  e.ack_json = R"({"version":0})";
  return e;
}

// A body with every byte value, NULs included.
std::string contract_body(size_t size, unsigned seed) {
  std::string body(size, '\0');
  for (size_t i = 0; i < size; ++i) body[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return body;
}

Status contract_add_version(auto& t, int64_t v) {
  VersionRecord r;
  r.version = v;
  if (v > 0) r.parent = v - 1;
  r.kind = v == 0 ? "init" : "merge";
  r.layout_fingerprint = "fp";
  r.num_updates = v;
  if (v > 0) r.train_loss = 1.0 / static_cast<double>(v);
  const std::string blob = "ckpt-" + std::to_string(v);
  return t.insert(r, contract_bytes(blob));
}

}  // namespace

TEMPLATE_TEST_CASE("store contract: ledger insert, find, every field, unique (agent, update_id)",
                   "[store][contract]", SqliteFixture, PgFixture) {
  TestType f;
  auto& ledger = f.ledger();
  CHECK(*ledger.count_accepted() == 0);
  LedgerEntry e = contract_entry("a1", "u1", 2.5);
  e.accepted_unix_ms = 1765000000123;
  e.accepted_version = 41;
  e.base_version = 40;
  e.num_samples = 1234567890123;
  e.train_loss = 0.1;
  e.staleness = 3;
  e.weight = 1.0 / 3;
  e.norm2 = 1e-300;
  e.ack_json = R"({"accepted":true,"version":41,"note":"h\u00e9"})";
  e.id = 999;                   // ignored
  e.consumed_by_version = 5;    // ignored
  auto id = ledger.insert(e, contract_bytes("body-1"));
  REQUIRE(id.is_ok());
  auto found = ledger.find("a1", "u1");
  REQUIRE(found.is_ok());
  REQUIRE(found->has_value());
  const LedgerEntry& g = **found;
  CHECK(g.id == *id);
  CHECK(g.agent == "a1");
  CHECK(g.update_id == "u1");
  CHECK(g.body_digest == "h-u1");
  CHECK(g.accepted_unix_ms == 1765000000123);
  CHECK(g.accepted_version == 41);
  CHECK(g.base_version == 40);
  CHECK(g.num_samples == 1234567890123);
  CHECK(g.train_loss == 0.1);  // exact: doubles round trip bit for bit
  CHECK(g.staleness == 3);
  CHECK(g.weight == 1.0 / 3);
  CHECK(g.norm2 == 1e-300);
  CHECK(g.ack_json == e.ack_json);
  CHECK(!g.consumed_by_version.has_value());
  CHECK(!ledger.find("a1", "u2")->has_value());
  CHECK(!ledger.find("a2", "u1")->has_value());
  // Same update id, other agent: fine. Same pair again: conflict, the row unchanged.
  auto other = ledger.insert(contract_entry("a2", "u1", 1), contract_bytes("x"));
  REQUIRE(other.is_ok());
  CHECK(*other > *id);
  CHECK(ledger.insert(contract_entry("a1", "u1", 1), contract_bytes("x")).status().code() == Code::kConflict);
  CHECK((*ledger.find("a1", "u1"))->weight == 1.0 / 3);
  REQUIRE(ledger.insert(contract_entry("a1", "u0", 1), contract_bytes("y")).is_ok());
  CHECK(*ledger.update_ids_of("a1") == std::vector<std::string>{"u1", "u0"});  // acceptance order
  CHECK(ledger.update_ids_of("nobody")->empty());
  CHECK(*ledger.count_accepted() == 3);
}

TEMPLATE_TEST_CASE("store contract: pending ledger rows carry their payloads until consumed", "[store][contract]",
                   SqliteFixture, PgFixture) {
  TestType f;
  auto& ledger = f.ledger();
  // More rows than one batch of the PostgreSQL reader, bodies of every byte
  // value (one of 400 KB), in acceptance order.
  std::vector<std::string> bodies;
  for (int i = 0; i < 40; ++i) {
    bodies.push_back(contract_body(i == 7 ? 400 * 1024 : static_cast<size_t>(i), static_cast<unsigned>(i)));
    LedgerEntry e = contract_entry(i % 2 ? "b" : "a", "u" + std::to_string(i), i);
    e.num_samples = i;
    REQUIRE(ledger.insert(e, contract_bytes(bodies.back())).is_ok());
  }
  std::vector<std::string> ids;
  std::vector<std::string> seen;
  REQUIRE(ledger.for_each_pending([&](const LedgerEntry& e, std::span<const uint8_t> p) {
    ids.push_back(e.update_id);
    seen.emplace_back(p.begin(), p.end());
    return Status::ok();
  }).is_ok());
  REQUIRE(ids.size() == 40);
  for (int i = 0; i < 40; ++i) {
    CHECK(ids[static_cast<size_t>(i)] == "u" + std::to_string(i));
    CHECK(seen[static_cast<size_t>(i)] == bodies[static_cast<size_t>(i)]);
  }
  // fn's first error stops the walk and is returned.
  int calls = 0;
  const Status stopped = ledger.for_each_pending([&](const LedgerEntry&, std::span<const uint8_t>) -> Status {
    if (++calls == 3) return Status(Code::kRateLimited, "enough");
    return Status::ok();
  });
  CHECK(stopped.code() == Code::kRateLimited);
  CHECK(calls == 3);

  CHECK(*ledger.consume_pending(7) == 40);
  CHECK(*ledger.consume_pending(8) == 0);
  REQUIRE(ledger.insert(contract_entry("c", "late", 3), contract_bytes("three")).is_ok());
  CHECK(*ledger.consume_pending(kDiscarded) == 1);
  calls = 0;
  REQUIRE(ledger.for_each_pending([&](const LedgerEntry&, std::span<const uint8_t>) {
    ++calls;
    return Status::ok();
  }).is_ok());
  CHECK(calls == 0);
  auto merged = ledger.merged_into(7);
  REQUIRE(merged.is_ok());
  REQUIRE(merged->size() == 40);
  CHECK((*merged)[0].agent == "a");
  CHECK((*merged)[1].agent == "b");
  CHECK((*merged)[1].update_id == "u1");
  CHECK((*merged)[39].weight == 39);
  CHECK((*merged)[39].staleness == 0);
  CHECK(ledger.merged_into(8)->empty());
  CHECK(ledger.merged_into(kDiscarded)->size() == 1);
  CHECK(*ledger.count_accepted() == 41);
  CHECK(*ledger.count_merged() == 40);  // discarded rows are not merged
  CHECK(*ledger.samples_merged() == 39 * 40 / 2);
  CHECK(*(*ledger.find("a", "u0"))->consumed_by_version == 7);
  CHECK(*(*ledger.find("c", "late"))->consumed_by_version == kDiscarded);
}

TEMPLATE_TEST_CASE("store contract: pending rows by id: listed, read and consumed only while pending",
                   "[store][contract]", SqliteFixture, PgFixture) {
  TestType f;
  auto& ledger = f.ledger();
  std::vector<int64_t> ids;
  for (int i = 0; i < 40; ++i) {
    auto id = ledger.insert(contract_entry("a", "p" + std::to_string(i), i), contract_bytes("body-" + std::to_string(i)));
    REQUIRE(id.is_ok());
    ids.push_back(*id);
  }
  CHECK(*ledger.pending_ids() == ids);
  // Read a subset (more than one PostgreSQL batch), in id order, with bodies.
  std::vector<int64_t> some;
  for (size_t i = 0; i < ids.size(); i += 1 + (i % 2)) some.push_back(ids[i]);
  std::vector<int64_t> read;
  REQUIRE(ledger.for_each_pending_of(some, [&](const LedgerEntry& e, std::span<const uint8_t> p) {
    read.push_back(e.id);
    CHECK(std::string(p.begin(), p.end()) == "body-" + e.update_id.substr(1));
    return Status::ok();
  }).is_ok());
  CHECK(read == some);
  // Consumed by id: only those, only once; the rest stay pending.
  CHECK(*ledger.consume(3, some) == static_cast<int64_t>(some.size()));
  CHECK(*ledger.consume(4, some) == 0);
  std::vector<int64_t> rest;
  for (int64_t id : ids)
    if (std::find(some.begin(), some.end(), id) == some.end()) rest.push_back(id);
  CHECK(*ledger.pending_ids() == rest);
  CHECK(ledger.merged_into(3)->size() == some.size());
  CHECK(ledger.merged_into(4)->empty());
  // A consumed row is no longer read by id; an unknown id is skipped.
  std::vector<int64_t> mixed = {some[0], rest[0], ids.back() + 1000};
  read.clear();
  REQUIRE(ledger.for_each_pending_of(mixed, [&](const LedgerEntry& e, std::span<const uint8_t>) {
    read.push_back(e.id);
    return Status::ok();
  }).is_ok());
  CHECK(read == std::vector<int64_t>{rest[0]});
  // A partial overlap counts only what it consumed now.
  CHECK(*ledger.consume(5, mixed) == 1);
  CHECK(*ledger.count_merged() == static_cast<int64_t>(some.size()) + 1);
}

TEMPLATE_TEST_CASE("store contract: versions round trip with their blobs, newest, history, retention",
                   "[store][contract]", SqliteFixture, PgFixture) {
  TestType f;
  auto& t = f.versions();
  CHECK(!t.newest()->has_value());
  CHECK(t.history(10)->empty());
  CHECK(*t.updates_claimed() == 0);
  // Every field of one record, a binary optimizer state and a large checkpoint.
  VersionRecord r;
  r.version = 0;
  r.kind = "init";
  r.created_unix_ms = 1765000000001;
  r.layout_fingerprint = "sha256:abc";
  r.total_weight = 12.75;
  r.gradient_variance = 0.3;
  r.merge_seconds = 1e-9;
  r.optimizer_state = contract_body(1000, 3);
  const std::string ckpt = contract_body(300 * 1024, 5);
  REQUIRE(t.insert(r, contract_bytes(ckpt)).is_ok());
  auto n = t.newest();
  REQUIRE(n.is_ok());
  REQUIRE(n->has_value());
  const VersionRecord& g = **n;
  CHECK(g.version == 0);
  CHECK(!g.parent.has_value());
  CHECK(g.kind == "init");
  CHECK(g.created_unix_ms == 1765000000001);
  CHECK(g.layout_fingerprint == "sha256:abc");
  CHECK(g.num_updates == 0);
  CHECK(g.total_weight == 12.75);
  CHECK(!g.train_loss.has_value());
  CHECK(g.gradient_variance == 0.3);
  CHECK(g.merge_seconds == 1e-9);
  CHECK(g.optimizer_state == r.optimizer_state);
  CHECK(**t.checkpoint(0) == ckpt);

  for (int v = 1; v <= 3; ++v) REQUIRE(contract_add_version(t, v).is_ok());
  CHECK(contract_add_version(t, 3).code() == Code::kConflict);
  auto newest = t.newest();
  REQUIRE(newest->has_value());
  CHECK((*newest)->version == 3);
  CHECK(*(*newest)->parent == 2);
  CHECK(*(*newest)->train_loss == 1.0 / 3);
  CHECK((*newest)->optimizer_state.empty());
  CHECK(**t.checkpoint(2) == "ckpt-2");
  CHECK(!t.checkpoint(9)->has_value());
  auto h = t.history(2);
  REQUIRE(h->size() == 2);
  CHECK((*h)[0].version == 2);
  CHECK((*h)[1].version == 3);
  CHECK(t.history(10)->size() == 4);
  CHECK(!(*t.history(10))[0].train_loss.has_value());
  CHECK(t.history(-1)->size() == 4);  // negative: no limit
  CHECK(*t.updates_claimed() == 6);

  // Retention: the last N and every Mth checkpoint, and the served versions.
  for (int v = 4; v <= 25; ++v) {
    REQUIRE(contract_add_version(t, v).is_ok());
    REQUIRE(t.prune(v, 3, 10).is_ok());
  }
  CHECK(*t.checkpointed() == std::vector<int64_t>{0, 10, 20, 23, 24, 25});
  CHECK(t.history(100)->size() == 26);  // rows stay without blobs
  CHECK(!t.checkpoint(5)->has_value());
  REQUIRE(f.channels().set_pointer("stable_version", 20).is_ok());
  REQUIRE(f.channels().set_pointer("canary_version", 24).is_ok());
  auto dropped = t.prune(25, 1, 0);
  REQUIRE(dropped.is_ok());
  CHECK(*dropped == 3);  // 0, 10, 23
  CHECK(*t.checkpointed() == std::vector<int64_t>{20, 24, 25});
  CHECK(*t.prune(25, 1, 0) == 0);
}

TEMPLATE_TEST_CASE("store contract: agents keep counters, last seen, quarantine and device class",
                   "[store][contract]", SqliteFixture, PgFixture) {
  TestType f;
  auto& t = f.agents();
  CHECK(t.load_all()->empty());
  REQUIRE(t.touch("a", 100, 1, 2, 0).is_ok());
  REQUIRE(t.touch("a", 50, 1, std::nullopt, 5).is_ok());  // late arrival: last_seen stays
  REQUIRE(t.set_quarantine("a", true, "noisy", 200).is_ok());
  REQUIRE(t.set_quarantine("new", true, "pre-emptive", 300).is_ok());
  REQUIRE(t.set_device_class("a", "aarch64", 400).is_ok());
  REQUIRE(t.set_device_class("B-upper", "x86_64", 500).is_ok());  // creates it; sorts before "a" (byte order)
  auto all = t.load_all();
  REQUIRE(all.is_ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].agent == "B-upper");
  CHECK((*all)[0].first_seen_unix_ms == 500);
  CHECK((*all)[0].last_seen_unix_ms == 500);
  CHECK((*all)[0].device_class == "x86_64");
  CHECK(!(*all)[0].quarantined);
  CHECK((*all)[0].updates == 0);
  const AgentRecord& a = (*all)[1];
  CHECK(a.agent == "a");
  CHECK(a.first_seen_unix_ms == 100);
  CHECK(a.last_seen_unix_ms == 100);
  CHECK(a.updates == 2);
  CHECK(a.last_staleness == 2);
  CHECK(a.telemetry_records == 5);
  CHECK(a.quarantined);
  CHECK(a.quarantine_reason == "noisy");
  CHECK(a.device_class == "aarch64");
  CHECK((*all)[2].agent == "new");
  CHECK((*all)[2].quarantined);
  CHECK((*all)[2].quarantine_reason == "pre-emptive");
  CHECK((*all)[2].first_seen_unix_ms == 300);
  REQUIRE(t.touch("a", 700, 2, 9, 1).is_ok());
  REQUIRE(t.set_quarantine("a", false, "", 800).is_ok());
  all = t.load_all();
  CHECK(!(*all)[1].quarantined);
  CHECK((*all)[1].quarantine_reason.empty());
  CHECK((*all)[1].last_seen_unix_ms == 700);
  CHECK((*all)[1].updates == 4);
  CHECK((*all)[1].last_staleness == 9);
  CHECK((*all)[1].telemetry_records == 6);
  CHECK((*all)[1].device_class == "aarch64");
}

TEMPLATE_TEST_CASE("store contract: telemetry (agent, seq) is stored once, batches report what was stored",
                   "[store][contract]", SqliteFixture, PgFixture) {
  TestType f;
  auto& t = f.telemetry();
  TelemetryRecord r;
  r.seq = 1;
  r.values["loss"] = 0.5;
  CHECK(*t.insert("a", r) == true);
  CHECK(*t.insert("a", r) == false);
  CHECK(*t.insert("b", r) == true);
  r.seq = 2;
  CHECK(*t.insert("a", r) == true);
  CHECK(*t.count() == 3);
  std::vector<TelemetryRecord> batch;
  for (int64_t s = 3; s <= 5; ++s) batch.push_back({s, 1000 + s, "train", {{"loss", 0.25}}, {{"link_state", "online"}}});
  auto first = t.insert("a", std::span<const TelemetryRecord>(batch.data(), 2));  // 3, 4
  REQUIRE(first.is_ok());
  REQUIRE(first->size() == 2);
  auto again = t.insert("a", batch);  // 3, 4 again and 5
  REQUIRE(again.is_ok());
  REQUIRE(again->size() == 1);
  CHECK((*again)[0].seq == 5);
  CHECK(*t.count() == 6);
  CHECK(*t.seqs_of("a") == std::vector<int64_t>{1, 2, 3, 4, 5});
  CHECK(*t.seqs_of("b") == std::vector<int64_t>{1});
  CHECK(t.seqs_of("c")->empty());
  // The json column holds the record as the wire (and the agent's outbox) has it.
  auto parsed = edgefed::parse_telemetry_record(nlohmann::json::parse(f.telemetry_json("a", 5)));
  REQUIRE(parsed.is_ok());
  CHECK(parsed->seq == 5);
  CHECK(parsed->ts_ms == 1005);
  CHECK(parsed->kind == "train");
  CHECK(parsed->values == batch[2].values);
  CHECK(parsed->labels == batch[2].labels);
}

TEMPLATE_TEST_CASE("store contract: channels keep validations, sums, channel rows and pointers", "[store][contract]",
                   SqliteFixture, PgFixture) {
  TestType f;
  auto& t = f.channels();
  CHECK(t.sums()->empty());
  CHECK(t.channels()->empty());
  CHECK(!t.pointer("stable_version")->has_value());
  CHECK(*t.add_validation({4, "a", "accuracy", 0.9, 0.8, 100, true, 10}) == true);
  CHECK(*t.add_validation({4, "a", "accuracy", 0.1, 0.1, 999, false, 11}) == false);  // first one counts
  CHECK(*t.add_validation({4, "b", "accuracy", 0.5, 0.75, 300, false, 12}) == true);
  CHECK(*t.add_validation({4, "c", "accuracy", 0.2, 0.2, 0, true, 13}) == true);  // no samples: not summed
  CHECK(*t.add_validation({5, "a", "loss", 1.5, 2.0, 10, true, 14}) == true);
  auto sums = t.sums();
  REQUIRE(sums.is_ok());
  REQUIRE(sums->size() == 2);
  const ValidationSums& s4 = sums->at(4);
  CHECK(s4.metric == "accuracy");
  CHECK(s4.agents == 2);
  CHECK(s4.cohort_agents == 1);
  CHECK(s4.samples == 400);
  CHECK(s4.value_x_samples == Approx(0.9 * 100 + 0.5 * 300));
  CHECK(s4.serving_x_samples == Approx(0.8 * 100 + 0.75 * 300));
  CHECK(sums->at(5).metric == "loss");
  CHECK(sums->at(5).cohort_agents == 1);
  CHECK(sums->at(5).value_x_samples == Approx(15));

  REQUIRE(t.set_channel(4, "canary", 100, "new version").is_ok());
  REQUIRE(t.set_channel(3, "stable", 90, "promoted").is_ok());
  REQUIRE(t.set_channel(4, "stable", 200, "canary passed").is_ok());  // replaces
  auto ch = t.channels();
  REQUIRE(ch.is_ok());
  REQUIRE(ch->size() == 2);
  CHECK(ch->at(3).channel == "stable");
  CHECK(ch->at(4).channel == "stable");
  CHECK(ch->at(4).changed_unix_ms == 200);
  CHECK(ch->at(4).reason == "canary passed");

  REQUIRE(t.set_pointer("stable_version", 4).is_ok());
  REQUIRE(t.set_pointer("canary_since_unix_ms", 1765000000999).is_ok());
  CHECK(**t.pointer("stable_version") == 4);
  CHECK(**t.pointer("canary_since_unix_ms") == 1765000000999);
  REQUIRE(t.set_pointer("stable_version", -1).is_ok());
  CHECK(**t.pointer("stable_version") == -1);
  REQUIRE(t.set_pointer("stable_version", std::nullopt).is_ok());
  CHECK(!t.pointer("stable_version")->has_value());
  REQUIRE(t.set_pointer("canary_version", std::nullopt).is_ok());  // unset already: fine
  CHECK(!t.pointer("schema_version_not_a_pointer")->has_value());
}

TEMPLATE_TEST_CASE("store contract: transactions roll back to nothing, commits survive a reopen",
                   "[store][contract]", SqliteFixture, PgFixture) {
  TestType f;
  // Rolled back: nothing of any table stays.
  REQUIRE(f.begin().is_ok());
  REQUIRE(f.ledger().insert(contract_entry("ghost", "g1", 1), contract_bytes("boo")).is_ok());
  REQUIRE(contract_add_version(f.versions(), 0).is_ok());
  REQUIRE(f.agents().touch("ghost", 1, 1, 0, 0).is_ok());
  TelemetryRecord r;
  r.seq = 1;
  REQUIRE(*f.telemetry().insert("ghost", r) == true);
  REQUIRE(f.channels().set_pointer("stable_version", 0).is_ok());
  f.rollback();
  CHECK(*f.ledger().count_accepted() == 0);
  CHECK(!f.versions().newest()->has_value());
  CHECK(f.agents().load_all()->empty());
  CHECK(*f.telemetry().count() == 0);
  CHECK(!f.channels().pointer("stable_version")->has_value());

  // A duplicate inside a transaction is kConflict and leaves it usable.
  REQUIRE(f.begin().is_ok());
  REQUIRE(f.ledger().insert(contract_entry("a", "u1", 1), contract_bytes("one")).is_ok());
  CHECK(f.ledger().insert(contract_entry("a", "u1", 1), contract_bytes("one")).status().code() == Code::kConflict);
  REQUIRE(contract_add_version(f.versions(), 0).is_ok());
  CHECK(contract_add_version(f.versions(), 0).code() == Code::kConflict);
  REQUIRE(f.ledger().insert(contract_entry("a", "u2", 2), contract_bytes("two")).is_ok());
  REQUIRE(f.agents().touch("a", 5, 2, 1, 0).is_ok());
  REQUIRE(*f.telemetry().insert("a", r) == true);
  REQUIRE(*f.telemetry().insert("a", r) == false);
  REQUIRE(f.channels().set_channel(0, "stable", 5, "first").is_ok());
  const Status committed = f.commit();
  INFO(committed.to_string());
  REQUIRE(committed.is_ok());

  // Committed: there after a reopen (SQLite: the file again; PostgreSQL: a
  // new connection), and reopening keeps the schema as it is.
  f.reopen();
  CHECK(*f.ledger().count_accepted() == 2);
  CHECK(*f.ledger().update_ids_of("a") == std::vector<std::string>{"u1", "u2"});
  std::vector<std::string> pending;
  REQUIRE(f.ledger().for_each_pending([&](const LedgerEntry& e, std::span<const uint8_t> p) {
    pending.push_back(e.update_id + ":" + std::string(p.begin(), p.end()));
    return Status::ok();
  }).is_ok());
  CHECK(pending == std::vector<std::string>{"u1:one", "u2:two"});
  CHECK((*f.versions().newest())->version == 0);
  CHECK(**f.versions().checkpoint(0) == "ckpt-0");
  REQUIRE(f.agents().load_all()->size() == 1);
  CHECK((*f.agents().load_all())[0].updates == 2);
  CHECK(*f.telemetry().count() == 1);
  CHECK(f.channels().channels()->at(0).reason == "first");

  // A store written by a server with another schema version is refused.
  f.write_schema_version("2");
  CHECK(f.try_reopen().code() == Code::kUnprocessable);
}

TEST_CASE("store contract, PostgreSQL only: replicas create the schema at once and store an update_id once",
          "[store][contract][pg]") {
  PgFixture f;  // a fresh schema, created by f's store
  // Four more replicas open the same (fresh) schema concurrently.
  {
    PgConnection admin = contract_pg_connect(contract_pg().socket_conninfo());
    REQUIRE(admin.exec("DROP SCHEMA IF EXISTS contract_race CASCADE; CREATE SCHEMA contract_race").is_ok());
  }
  const std::string race = contract_pg().socket_conninfo() + " options='-c search_path=contract_race'";
  std::vector<Status> opened(4);
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < opened.size(); ++i) {
      threads.emplace_back([&, i] {
        auto s = PgStore::open(race);
        opened[i] = s.is_ok() ? Status::ok() : s.status();
      });
    }
    for (auto& t : threads) t.join();
  }
  for (const Status& st : opened) {
    INFO(st.to_string());
    CHECK(st.is_ok());
  }

  // One update, sent to two replicas: the second waits for the first's
  // transaction and gets kConflict once it commits; after a rollback it
  // would have stored the update itself.
  auto other = PgStore::open(f.conninfo);
  REQUIRE(other.is_ok());
  for (const bool first_commits : {true, false}) {
    CAPTURE(first_commits);
    const std::string id = first_commits ? "twice-1" : "twice-2";
    REQUIRE(f.begin().is_ok());
    REQUIRE(f.ledger().insert(contract_entry("a", id, 1), contract_bytes("body")).is_ok());
    Result<int64_t> second = Status(Code::kInternal, "not run");
    std::thread replica([&] { second = (*other)->ledger().insert(contract_entry("a", id, 1), contract_bytes("body")); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (first_commits) {
      REQUIRE(f.commit().is_ok());
    } else {
      f.rollback();
    }
    replica.join();
    if (first_commits) {
      CHECK(second.status().code() == Code::kConflict);
    } else {
      CHECK(second.is_ok());
    }
  }
  CHECK(*f.ledger().update_ids_of("a") == std::vector<std::string>{"twice-1", "twice-2"});
}

TEST_CASE("store contract, PostgreSQL only: two replicas consuming the same rows: the second counts none",
          "[store][contract][pg]") {
  // The fence between an old leader and a new one: both read the same
  // pending rows; whichever commits second sees that it consumed nothing.
  PgFixture f;
  auto other = PgStore::open(f.conninfo);
  REQUIRE(other.is_ok());
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*f.ledger().insert(contract_entry("a", "c" + std::to_string(i), 1),
                                                               contract_bytes("b")));
  REQUIRE(f.begin().is_ok());
  CHECK(*f.ledger().consume(1, ids) == 5);
  Result<int64_t> second = Status(Code::kInternal, "not run");
  std::thread replica([&] {
    REQUIRE((*other)->begin().is_ok());
    second = (*other)->ledger().consume(1, ids);
    (*other)->rollback();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(f.commit().is_ok());
  replica.join();
  REQUIRE(second.is_ok());
  CHECK(*second == 0);
  CHECK(f.ledger().pending_ids()->empty());
}
