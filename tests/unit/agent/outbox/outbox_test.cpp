#include <sys/stat.h>

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/outbox/outbox.hpp"
#include "scratch_dir.hpp"

using edgefed::Code;
using edgefed::Result;
using edgefed::Status;
using edgefed::TelemetryRecord;
using edgefed::UpdateAck;
using namespace edgefed::agent;

namespace {

std::unique_ptr<Outbox> open_box(const std::string& path, OutboxLimits limits = {}) {
  auto box = Outbox::open({.path = path, .limits = limits, .full_sync = false});
  REQUIRE(box.is_ok());
  return std::move(*box);
}

std::string add_update(Outbox& box, int64_t base = 1) {
  auto id = box.add_update("agent-1", base, 1000, [](const std::string& uid) {
    return Result<std::string>("body-of-" + uid);
  });
  REQUIRE(id.is_ok());
  return *id;
}

int64_t add_record(Outbox& box, double loss) {
  TelemetryRecord r;
  r.ts_ms = 5;
  r.values["loss"] = loss;
  r.labels["link_state"] = "online";
  auto seq = box.add_telemetry(r);
  REQUIRE(seq.is_ok());
  return *seq;
}

}  // namespace

TEST_CASE("outbox returns updates and telemetry oldest first", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_box(dir.file("outbox.db"));
  const auto a = add_update(*box);
  const auto b = add_update(*box, 2);
  const auto c = add_update(*box, 3);
  CHECK(a == "agent-1:" + box->incarnation() + ":1");
  CHECK(c == "agent-1:" + box->incarnation() + ":3");
  auto ups = box->oldest_updates(2);
  REQUIRE(ups.is_ok());
  REQUIRE(ups->size() == 2);
  CHECK((*ups)[0].update_id == a);
  CHECK((*ups)[0].body == "body-of-" + a);
  CHECK((*ups)[1].update_id == b);
  CHECK((*ups)[1].base_version == 2);

  for (int i = 0; i < 5; ++i) CHECK(add_record(*box, i) == i + 1);
  auto recs = box->oldest_telemetry(10, 1 << 20);
  REQUIRE(recs.is_ok());
  REQUIRE(recs->size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK((*recs)[i].seq == i + 1);
    CHECK((*recs)[i].values.at("loss") == i);
    CHECK((*recs)[i].labels.at("link_state") == "online");
    CHECK((*recs)[i].ts_ms == 5);
  }

  SECTION("acks delete and are journaled once") {
    REQUIRE(box->ack_update(b, UpdateAck{7, 5, 1.0, false}, 10).is_ok());
    REQUIRE(box->ack_update(b, UpdateAck{7, 5, 1.0, true}, 11).is_ok());  // resent: no-op
    auto left = box->oldest_updates(10);
    REQUIRE(left->size() == 2);
    CHECK((*left)[0].update_id == a);
    CHECK((*left)[1].update_id == c);
    auto n = box->ack_telemetry(3, 10);
    REQUIRE(n.is_ok());
    CHECK(*n == 3);
    CHECK(*box->ack_telemetry(3, 10) == 0);
    auto j = box->journal();
    REQUIRE(j.is_ok());
    CHECK(j->updates_created == 3);
    CHECK(j->updates_acked == 1);
    CHECK(j->updates_duplicate == 0);
    CHECK(j->telemetry_created == 5);
    CHECK(j->telemetry_acked == 3);
    CHECK(*box->acked_update_ids() == std::vector<std::string>{b});
    auto d = box->depth();
    CHECK(d->updates == 2);
    CHECK(d->telemetry == 2);
  }

  SECTION("ids and seqs continue after reopening, never reused") {
    const std::string inc = box->incarnation();
    REQUIRE(box->ack_update(c, UpdateAck{}, 1).is_ok());
    REQUIRE(box->ack_telemetry(5, 1).is_ok());
    box.reset();
    auto again = open_box(dir.file("outbox.db"));
    CHECK(again->incarnation() == inc);
    CHECK(add_update(*again) == "agent-1:" + inc + ":4");
    CHECK(add_record(*again, 0) == 6);
    CHECK(again->oldest_updates(10)->size() == 3);
  }

  SECTION("a wiped outbox gets a new incarnation, so its ids differ") {
    const std::string inc = box->incarnation();
    box.reset();
    edgefed::testing::ScratchDir other;
    auto fresh = open_box(other.file("outbox.db"));
    CHECK(fresh->incarnation() != inc);
  }
}

TEST_CASE("outbox telemetry batches respect record and byte caps", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_box(dir.file("outbox.db"));
  for (int i = 0; i < 50; ++i) add_record(*box, i);
  CHECK(box->oldest_telemetry(20, 1 << 20)->size() == 20);
  const auto one = box->oldest_telemetry(1, 1 << 20);
  const size_t bytes = box->depth()->bytes / 50;  // all records are the same size
  CHECK(box->oldest_telemetry(100, bytes * 7)->size() == 7);
  CHECK(box->oldest_telemetry(100, 1)->size() == 1);  // at least one
  REQUIRE(box->ack_telemetry(7, 1).is_ok());
  auto next = box->oldest_telemetry(3, 1 << 20);
  CHECK((*next)[0].seq == 8);
  CHECK(one->front().seq == 1);
}

TEST_CASE("outbox permanent rejections are counted, not retried", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_box(dir.file("outbox.db"));
  const auto a = add_update(*box);
  add_record(*box, 1);
  add_record(*box, 2);
  REQUIRE(box->reject_update(a, Status(Code::kDimensionMismatch, "x"), 1).is_ok());
  REQUIRE(*box->reject_telemetry(1, 1) == 1);
  auto j = box->journal();
  CHECK(j->updates_rejected == 1);
  CHECK(j->telemetry_rejected == 1);
  CHECK(box->oldest_updates(5)->empty());
  CHECK(box->oldest_telemetry(5, 1000)->size() == 1);
}

TEST_CASE("outbox refuses bad input without storing anything", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_box(dir.file("outbox.db"));
  SECTION("encode failure does not consume the id") {
    auto bad = box->add_update("agent-1", 1, 1, [](const std::string&) {
      return Result<std::string>(Code::kNonFinite, "nan in delta");
    });
    CHECK(bad.status().code() == Code::kNonFinite);
    CHECK(add_update(*box) == "agent-1:" + box->incarnation() + ":1");
  }
  SECTION("bad agent id") {
    auto bad = box->add_update("../etc", 1, 1, [](const std::string&) {
      return Result<std::string>("x");
    });
    CHECK(bad.status().code() == Code::kInvalidArgument);
  }
  SECTION("a record no telemetry batch could carry") {
    TelemetryRecord r;
    r.values["not a key"] = 1;
    CHECK(box->add_telemetry(r).status().code() == Code::kInvalidArgument);
    r.values.clear();
    r.labels["link_state"] = std::string(300, 'x');  // over kMaxTelemetryLabelBytes
    CHECK(box->add_telemetry(r).status().code() == Code::kInvalidArgument);
    CHECK(box->depth()->telemetry == 0);
    CHECK(add_record(*box, 1) == 1);
  }
  SECTION("NaN telemetry value") {
    TelemetryRecord r;
    r.values["loss"] = std::nan("");
    CHECK(box->add_telemetry(r).status().code() == Code::kNonFinite);
    CHECK(add_record(*box, 1) == 1);
  }
  CHECK(box->journal()->updates_created == (box->depth()->updates));
}

TEST_CASE("outbox file is private (0600) and rejects a non-database", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_box(dir.file("outbox.db"));
  add_update(*box);
  struct stat st {};
  REQUIRE(::stat(dir.file("outbox.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(dir.file("outbox.db-wal").c_str(), &st) == 0);
  CHECK((st.st_mode & 077) == 0);

  FILE* f = std::fopen(dir.file("junk.db").c_str(), "w");
  std::fputs("this is not a sqlite database, not at all, no no no no no no no no", f);
  std::fclose(f);
  auto bad = Outbox::open({.path = dir.file("junk.db"), .limits = {}, .full_sync = false});
  CHECK_FALSE(bad.is_ok());
  CHECK(bad.status().code() == Code::kIo);
  CHECK_FALSE(Outbox::open({.path = dir.file("no/such/dir/x.db"), .limits = {}, .full_sync = false}).is_ok());
}

namespace {
// Runs SQL on the outbox file behind the Outbox's back (it must be closed).
void raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}
std::string raw_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}
}  // namespace

TEST_CASE("outbox keeps a record in its wire JSON form and reads rows of older agents", "[unit]") {
  edgefed::testing::ScratchDir dir;
  const std::string path = dir.file("outbox.db");
  open_box(path).reset();
  // A row as agents before the one-record-form change wrote it: no seq in the
  // body, empty maps present.
  raw_sql(path,
          "INSERT INTO telemetry(seq, ts_ms, kind, size, body) VALUES(1, 7, 'system', 60, "
          "'{\"kind\":\"system\",\"labels\":{},\"ts_ms\":7,\"values\":{\"cpu_temp_c\":50.5}}');"
          "INSERT OR REPLACE INTO counters(name, value) VALUES('next_seq', 1);");
  auto box = open_box(path);
  CHECK(add_record(*box, 0.25) == 2);
  auto recs = box->oldest_telemetry(10, 1 << 20);
  REQUIRE(recs.is_ok());
  REQUIRE(recs->size() == 2);
  CHECK((*recs)[0].seq == 1);
  CHECK((*recs)[0].ts_ms == 7);
  CHECK((*recs)[0].kind == "system");
  CHECK((*recs)[0].values == std::map<std::string, double>{{"cpu_temp_c", 50.5}});
  CHECK((*recs)[0].labels.empty());
  CHECK((*recs)[1].seq == 2);
  CHECK((*recs)[1].values == std::map<std::string, double>{{"loss", 0.25}});
  box.reset();
  // The new row's body is exactly the record as a batch carries it.
  TelemetryRecord want;
  want.seq = 2;
  want.ts_ms = 5;
  want.values["loss"] = 0.25;
  want.labels["link_state"] = "online";
  CHECK(raw_text(path, "SELECT body FROM telemetry WHERE seq = 2") == edgefed::to_json(want).dump());
}
