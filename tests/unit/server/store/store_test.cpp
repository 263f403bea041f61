#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "server/store/store.hpp"
#include "temp_dir.hpp"

using namespace edgefed::server;

TEST_CASE("store: database file is 0600, WAL, and reopens", "[unit][store]") {
  edgefed::testing::TempDir dir;
  const std::string state = dir.path() + "/state";
  {
    auto store = Store::open(state);
    REQUIRE(store.is_ok());
    REQUIRE((*store)->agents().touch("a1", 1000, 1, 3, 0).is_ok());
  }
  struct stat st {};
  REQUIRE(::stat(Store::database_path(state).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = Store::open(state);  // keep it open: -wal and -shm exist now
  REQUIRE(again.is_ok());
  for (const char* suffix : {"-wal", "-shm"}) {
    INFO(suffix);
    REQUIRE(::stat((Store::database_path(state) + suffix).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  REQUIRE(::stat(state.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  auto agents = (*again)->agents().load_all();
  REQUIRE(agents->size() == 1);
  CHECK((*agents)[0].agent == "a1");
}

TEST_CASE("store: telemetry (agent, seq) is stored once", "[unit][store]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  TelemetryTable& t = (*store)->telemetry();
  edgefed::TelemetryRecord r;
  r.seq = 1;
  r.values["loss"] = 0.5;
  CHECK(*t.insert("a", r) == true);
  CHECK(*t.insert("a", r) == false);
  CHECK(*t.insert("b", r) == true);
  r.seq = 2;
  CHECK(*t.insert("a", r) == true);
  CHECK(*t.count() == 3);
}

TEST_CASE("store: a batch insert returns the records stored now, in their one JSON form", "[unit][store]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  TelemetryTable& t = (*store)->telemetry();
  std::vector<edgefed::TelemetryRecord> batch;
  for (int64_t s = 1; s <= 3; ++s) batch.push_back({s, 1000 + s, "train", {{"loss", 0.5}}, {{"link_state", "online"}}});
  auto first = t.insert("a", std::span<const edgefed::TelemetryRecord>(batch.data(), 2));  // 1, 2
  REQUIRE(first.is_ok());
  REQUIRE(first->size() == 2);
  auto again = t.insert("a", batch);  // 1, 2 again and 3
  REQUIRE(again.is_ok());
  REQUIRE(again->size() == 1);
  CHECK((*again)[0].seq == 3);
  CHECK(*t.count() == 3);
  // The json column holds the record as the wire (and the agent's outbox) has it.
  auto st = (*store)->db().cached("SELECT json FROM telemetry WHERE agent = 'a' AND seq = 3");
  REQUIRE(st.is_ok());
  REQUIRE(*(*st)->step() == true);
  const std::string json = (*st)->column_text(0);
  (*st)->reset();
  auto parsed = edgefed::parse_telemetry_record(nlohmann::json::parse(json));
  REQUIRE(parsed.is_ok());
  CHECK(parsed->seq == 3);
  CHECK(parsed->ts_ms == 1003);
  CHECK(parsed->kind == "train");
  CHECK(parsed->values == batch[2].values);
  CHECK(parsed->labels == batch[2].labels);
}

TEST_CASE("store: agents keep counters, last seen and quarantine", "[unit][store]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  AgentTable& t = (*store)->agents();
  REQUIRE(t.touch("a", 100, 1, 2, 0).is_ok());
  REQUIRE(t.touch("a", 50, 1, std::nullopt, 5).is_ok());  // late arrival: last_seen stays
  REQUIRE(t.set_quarantine("a", true, "noisy", 200).is_ok());
  REQUIRE(t.set_quarantine("new", true, "pre-emptive", 300).is_ok());
  auto all = t.load_all();
  REQUIRE(all->size() == 2);
  const AgentRecord& a = (*all)[0];
  CHECK(a.first_seen_unix_ms == 100);
  CHECK(a.last_seen_unix_ms == 100);
  CHECK(a.updates == 2);
  CHECK(a.last_staleness == 2);
  CHECK(a.telemetry_records == 5);
  CHECK(a.quarantined);
  CHECK(a.quarantine_reason == "noisy");
  CHECK((*all)[1].quarantined);
  REQUIRE(t.set_quarantine("a", false, "", 300).is_ok());
  CHECK(!(*t.load_all())[0].quarantined);
}

TEST_CASE("store: agents keep the device class their system telemetry names, also in a file from before the column",
          "[unit][store]") {
  edgefed::testing::TempDir dir;
  const std::string state = dir.path() + "/state";
  {
    // A state file as servers before the device_class column wrote it.
    ::mkdir(state.c_str(), 0700);
    auto db = edgefed::sqlite::Database::open(Store::database_path(state));
    REQUIRE(db.is_ok());
    REQUIRE((*db)->exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                        "INSERT INTO meta VALUES('schema_version', '1');"
                        "CREATE TABLE agents(agent TEXT PRIMARY KEY, first_seen_unix_ms INTEGER NOT NULL,"
                        " last_seen_unix_ms INTEGER NOT NULL, quarantined INTEGER NOT NULL DEFAULT 0,"
                        " quarantine_reason TEXT NOT NULL DEFAULT '', updates INTEGER NOT NULL DEFAULT 0,"
                        " last_staleness INTEGER NOT NULL DEFAULT 0, telemetry_records INTEGER NOT NULL DEFAULT 0);"
                        "INSERT INTO agents(agent, first_seen_unix_ms, last_seen_unix_ms, updates)"
                        " VALUES('old-1', 10, 20, 3);")
                .is_ok());
  }
  auto store = Store::open(state, {.fsync_full = false});
  REQUIRE(store.is_ok());
  AgentTable& t = (*store)->agents();
  auto all = t.load_all();
  REQUIRE(all.is_ok());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].updates == 3);
  CHECK((*all)[0].device_class.empty());
  REQUIRE(t.set_device_class("old-1", "aarch64", 30).is_ok());
  REQUIRE(t.set_device_class("new-1", "x86_64", 40).is_ok());  // creates the agent
  all = t.load_all();
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].agent == "new-1");
  CHECK((*all)[0].device_class == "x86_64");
  CHECK((*all)[0].first_seen_unix_ms == 40);
  CHECK((*all)[1].device_class == "aarch64");
  CHECK((*all)[1].updates == 3);
  store->reset();
  auto again = Store::open(state, {.fsync_full = false});  // the column exists now: opened as is
  REQUIRE(again.is_ok());
  CHECK((*(*again)->agents().load_all())[1].device_class == "aarch64");
}

TEST_CASE("store: a rolled back transaction leaves nothing", "[unit][store]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  Store& s = **store;
  REQUIRE(s.db().begin().is_ok());
  REQUIRE(s.agents().touch("ghost", 1, 1, 0, 0).is_ok());
  s.db().rollback();
  CHECK(s.agents().load_all()->empty());
}
