// The update spool (server/store/update_spool.hpp) on its own, through its
// file seam, and inside the SQLite store: bodies come back as written;
// space is reused only once released, and a full ring refuses instead of
// overwriting; a record that never reached the file, or was damaged, is
// reported, never returned; the store releases a merged body only once the
// commit that merged it is durable, and finds its pending bodies again
// after a restart.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "server/store/store.hpp"
#include "server/store/update_spool.hpp"
#include "memory_spool_file.hpp"
#include "temp_dir.hpp"

using namespace edgefed::server;
using edgefed::Code;
using edgefed::Result;
using edgefed::Status;
using edgefed::testing::MemoryFile;
using edgefed::testing::MemorySpoolFile;

namespace {

std::vector<uint8_t> body_of(size_t n, uint8_t seed) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

constexpr int64_t kRecord = 1000;                             // body bytes
constexpr int64_t kSlot = kRecord + UpdateSpool::kHeaderBytes;  // bytes a record takes

}  // namespace

TEST_CASE("update spool: bodies come back as written, released space is reused, a full ring refuses",
          "[unit][store][spool]") {
  auto file = std::make_shared<MemoryFile>();
  UpdateSpool spool(std::make_unique<MemorySpoolFile>(file), 4 * kSlot);  // room for 4 records
  std::vector<SpoolExtent> ext;
  for (uint8_t i = 0; i < 4; ++i) {
    auto e = spool.append(body_of(kRecord, i));
    REQUIRE(e.is_ok());
    CHECK(e->length == kRecord);
    ext.push_back(*e);
  }
  CHECK(spool.live_extents() == 4);
  CHECK(spool.used_bytes() == 4 * kSlot);
  for (uint8_t i = 0; i < 4; ++i) {
    auto b = spool.read(ext[i]);
    REQUIRE(b.is_ok());
    CHECK(*b == body_of(kRecord, i));
  }
  // Full: the next record would overwrite the oldest live one.
  auto full = spool.append(body_of(kRecord, 9));
  REQUIRE_FALSE(full.is_ok());
  CHECK(full.status().code() == Code::kUnavailable);
  CHECK(*spool.read(ext[0]) == body_of(kRecord, 0));

  // Releasing a later record does not free the oldest one's place.
  spool.release(ext[2].offset);
  CHECK_FALSE(spool.append(body_of(kRecord, 9)).is_ok());
  // Releasing the oldest does: the next lap starts over its bytes.
  spool.release(ext[0].offset);
  auto lap = spool.append(body_of(kRecord, 5));
  REQUIRE(lap.is_ok());
  CHECK(lap->offset == 4 * kSlot);
  CHECK(*spool.read(*lap) == body_of(kRecord, 5));
  CHECK(*spool.read(ext[1]) == body_of(kRecord, 1));
  // The overwritten record is gone, and said so, not returned as another.
  auto old = spool.read(ext[0]);
  REQUIRE_FALSE(old.is_ok());
  CHECK(old.status().code() == Code::kNotFound);

  // A body larger than the whole ring never fits.
  CHECK(spool.append(body_of(static_cast<size_t>(5 * kSlot), 1)).status().code() == Code::kUnavailable);
}

TEST_CASE("update spool: a record never wraps; it starts the next lap", "[unit][store][spool]") {
  auto file = std::make_shared<MemoryFile>();
  UpdateSpool spool(std::make_unique<MemorySpoolFile>(file), 5 * kSlot / 2);  // 2.5 records
  auto a = spool.append(body_of(kRecord, 1));
  auto b = spool.append(body_of(kRecord, 2));
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  spool.release(a->offset);
  // Half a slot left at the end is too little: c starts the second lap,
  // over a's released place.
  auto c = spool.append(body_of(kRecord, 3));
  REQUIRE(c.is_ok());
  CHECK(c->offset == 5 * kSlot / 2);
  CHECK(*spool.read(*c) == body_of(kRecord, 3));
  CHECK(*spool.read(*b) == body_of(kRecord, 2));
  // The next place is b's, still live.
  CHECK(spool.append(body_of(kRecord, 4)).status().code() == Code::kUnavailable);
  spool.release(b->offset);
  auto d = spool.append(body_of(kRecord, 4));
  REQUIRE(d.is_ok());
  CHECK(d->offset == 5 * kSlot / 2 + kSlot);
  CHECK(*spool.read(*c) == body_of(kRecord, 3));
  CHECK(*spool.read(*d) == body_of(kRecord, 4));
  CHECK(file->bytes.size() <= static_cast<size_t>(5 * kSlot / 2));
}

TEST_CASE("update spool: lost and damaged records are reported, failed writes pin nothing",
          "[unit][store][spool]") {
  auto file = std::make_shared<MemoryFile>();
  UpdateSpool spool(std::make_unique<MemorySpoolFile>(file), 8 * kSlot);
  auto good = spool.append(body_of(kRecord, 1));
  REQUIRE(good.is_ok());

  // A write that failed: the caller gets kIo and the space is free again.
  file->fail_writes = true;
  auto failed = spool.append(body_of(kRecord, 2));
  REQUIRE_FALSE(failed.is_ok());
  CHECK(failed.status().code() == Code::kIo);
  CHECK(spool.live_extents() == 1);
  file->fail_writes = false;

  // A write the disk never got (a crash before the fsync): not there.
  file->drop_writes = true;
  auto dropped = spool.append(body_of(kRecord, 3));
  REQUIRE(dropped.is_ok());
  file->drop_writes = false;
  CHECK(spool.read(*dropped).status().code() == Code::kNotFound);

  // One flipped bit in a body: the checksum says so.
  file->bytes[static_cast<size_t>(good->offset + UpdateSpool::kHeaderBytes + 10)] ^= 0x01;
  CHECK(spool.read(*good).status().code() == Code::kNotFound);

  // An extent that names another length than was written there.
  auto other = spool.append(body_of(kRecord, 4));
  REQUIRE(other.is_ok());
  CHECK(spool.read({other->offset, kRecord - 1}).status().code() == Code::kNotFound);
  CHECK(spool.read({other->offset, kRecord}).is_ok());
}

TEST_CASE("update spool: sync fsyncs only when something was written since", "[unit][store][spool]") {
  auto file = std::make_shared<MemoryFile>();
  UpdateSpool spool(std::make_unique<MemorySpoolFile>(file), 8 * kSlot);
  REQUIRE(spool.sync().is_ok());
  CHECK(file->syncs == 0);
  REQUIRE(spool.append(body_of(kRecord, 1)).is_ok());
  REQUIRE(spool.sync().is_ok());
  CHECK(file->syncs == 1);
  REQUIRE(spool.sync().is_ok());
  CHECK(file->syncs == 1);
  REQUIRE(spool.append(body_of(kRecord, 2)).is_ok());
  file->fail_syncs = true;
  CHECK(spool.sync().code() == Code::kIo);
  file->fail_syncs = false;
  REQUIRE(spool.sync().is_ok());  // still owed after the failure
  CHECK(file->syncs == 2);
}

namespace {

LedgerEntry spooled_entry(const std::string& id, const SpoolExtent& e) {
  LedgerEntry r;
  r.agent = "a";
  r.update_id = id;
  r.body_digest = "h-" + id;
  r.num_samples = 10;
  r.weight = 1;
  r.ack_json = R"({"version":0})";
  r.spooled = e;
  return r;
}

// Pending rows as (update_id, body, lost).
struct Pending {
  std::string id;
  std::vector<uint8_t> body;
  bool lost;
};
std::vector<Pending> pending_of(Store& s) {
  std::vector<Pending> out;
  Status st = s.ledger().for_each_pending([&](const LedgerEntry& e, std::span<const uint8_t> payload) {
    out.push_back({e.update_id, {payload.begin(), payload.end()}, e.body_lost});
    CHECK(e.spooled.has_value());
    return Status::ok();
  });
  REQUIRE(st.is_ok());
  return out;
}

// synchronous=FULL, a spool of 8 records on `file`.
StoreOptions memory_spool_options(std::shared_ptr<MemoryFile> file) {
  StoreOptions o{.fsync_full = true, .spool_bytes = 8 * kSlot};
  o.spool_file = edgefed::testing::memory_spool_opener(std::move(file));
  return o;
}

Status insert(Store& s, const std::string& id, const SpoolExtent& e) {
  EDGEFED_RETURN_IF_ERROR(s.begin());
  auto r = s.ledger().insert(spooled_entry(id, e), {});
  Status st = r.is_ok() ? s.commit() : r.status();
  if (!st.is_ok()) s.rollback();
  return st;
}

}  // namespace

TEST_CASE("store with an update spool: rows name spooled bodies, found again after a restart; a merged body is "
          "reused only once its merge is durable",
          "[unit][store][spool]") {
  const bool deferred = GENERATE(false, true);
  INFO("deferred sync: " << deferred);
  edgefed::testing::TempDir dir;
  const int64_t capacity = 3 * kSlot;
  const StoreOptions options{.fsync_full = true, .defer_sync = deferred, .spool_bytes = capacity};
  {
    auto store = Store::open(dir.path(), options);
    REQUIRE(store.is_ok());
    Store& s = **store;
    auto spool = s.spool();
    REQUIRE(spool != nullptr);
    auto e1 = spool->append(body_of(kRecord, 1));
    auto e2 = spool->append(body_of(kRecord, 2));
    REQUIRE(e1.is_ok());
    REQUIRE(e2.is_ok());
    REQUIRE(insert(s, "u1", *e1).is_ok());
    REQUIRE(insert(s, "u2", *e2).is_ok());
    if (deferred) REQUIRE(s.sync_committed().is_ok());
    auto rows = pending_of(s);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].body == body_of(kRecord, 1));
    CHECK(rows[1].body == body_of(kRecord, 2));

    // u1 merged. Until that commit is durable its body keeps its place.
    auto e3 = spool->append(body_of(kRecord, 3));
    REQUIRE(e3.is_ok());
    REQUIRE(s.begin().is_ok());
    auto ids = s.ledger().pending_ids();
    REQUIRE(ids.is_ok());
    const std::vector<int64_t> first{ids->front()};
    REQUIRE(*s.ledger().consume(7, first) == 1);
    REQUIRE(s.commit().is_ok());
    if (deferred) {
      CHECK(spool->append(body_of(kRecord, 4)).status().code() == Code::kUnavailable);
      REQUIRE(s.sync_committed().is_ok());
    }
    auto e4 = spool->append(body_of(kRecord, 4));
    REQUIRE(e4.is_ok());  // over u1's old place
    REQUIRE(insert(s, "u3", *e3).is_ok());
    REQUIRE(insert(s, "u4", *e4).is_ok());
    if (deferred) REQUIRE(s.sync_committed().is_ok());

    // A merge that rolls back frees nothing.
    REQUIRE(s.begin().is_ok());
    REQUIRE(*s.ledger().consume_pending(8) == 3);
    s.rollback();
    if (deferred) REQUIRE(s.sync_committed().is_ok());
    CHECK(spool->append(body_of(kRecord, 5)).status().code() == Code::kUnavailable);
  }
  // A restart finds the three pending bodies where they were, and a new
  // configured size waits until none is left.
  StoreOptions bigger = options;
  bigger.spool_bytes = 10 * kSlot;
  auto store = Store::open(dir.path(), bigger);
  REQUIRE(store.is_ok());
  Store& s = **store;
  CHECK(s.spool()->capacity() == capacity);
  auto rows = pending_of(s);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].id == "u2");
  CHECK(rows[0].body == body_of(kRecord, 2));
  CHECK(rows[1].body == body_of(kRecord, 3));
  CHECK(rows[2].body == body_of(kRecord, 4));
  CHECK(s.spool()->live_extents() == 3);
  CHECK(s.spool()->append(body_of(kRecord, 5)).status().code() == Code::kUnavailable);
  REQUIRE(s.begin().is_ok());
  REQUIRE(*s.ledger().consume_pending(9) == 3);
  REQUIRE(s.commit().is_ok());
  if (deferred) REQUIRE(s.sync_committed().is_ok());
  CHECK(s.spool()->live_extents() == 0);
  CHECK(s.spool()->append(body_of(kRecord, 5)).is_ok());
}

TEST_CASE("store with an update spool: a row whose body never reached the disk comes back marked lost",
          "[unit][store][spool]") {
  edgefed::testing::TempDir dir;
  auto file = std::make_shared<MemoryFile>();
  const StoreOptions options = memory_spool_options(file);
  {
    auto store = Store::open(dir.path(), options);
    REQUIRE(store.is_ok());
    Store& s = **store;
    auto kept = s.spool()->append(body_of(kRecord, 1));
    file->drop_writes = true;  // as if the process died before the fsync
    auto lost = s.spool()->append(body_of(kRecord, 2));
    file->drop_writes = false;
    REQUIRE(kept.is_ok());
    REQUIRE(lost.is_ok());
    REQUIRE(insert(s, "kept", *kept).is_ok());
    REQUIRE(insert(s, "lost", *lost).is_ok());
  }
  auto store = Store::open(dir.path(), options);
  REQUIRE(store.is_ok());
  auto rows = pending_of(**store);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].id == "kept");
  CHECK_FALSE(rows[0].lost);
  CHECK(rows[0].body == body_of(kRecord, 1));
  CHECK(rows[1].id == "lost");
  CHECK(rows[1].lost);
  CHECK(rows[1].body.empty());

  // Turned off (spool_bytes 0) while bodies are still pending in it: they
  // are read from it until merged, and no new body goes there.
  StoreOptions off = options;
  off.spool_bytes = 0;
  store->reset();
  auto plain = Store::open(dir.path(), off);
  REQUIRE(plain.is_ok());
  CHECK((*plain)->spool() == nullptr);
  // Made with a spool: 16 KiB pages (store.cpp), kept by the file.
  CHECK(*(*plain)->db().query_int("PRAGMA page_size") == 16384);
  auto again = pending_of(**plain);
  REQUIRE(again.size() == 2);
  CHECK(again[0].body == body_of(kRecord, 1));
  CHECK(again[1].lost);
  REQUIRE((*plain)->begin().is_ok());
  REQUIRE(*(*plain)->ledger().consume_pending(3) == 2);
  REQUIRE((*plain)->commit().is_ok());
  plain->reset();
  // With none left, the spool is not opened at all; a table without a
  // spool refuses a spooled row rather than store a row without its body.
  auto none = Store::open(dir.path(), off);
  REQUIRE(none.is_ok());
  REQUIRE((*none)->begin().is_ok());
  CHECK((*none)->ledger().insert(spooled_entry("x", {0, 1}), {}).status().code() == Code::kInternal);
  (*none)->rollback();
  // A database made without a spool keeps the bodies in its pages: 64 KiB.
  edgefed::testing::TempDir bodies_inside;
  auto inside = Store::open(bodies_inside.path(), off);
  REQUIRE(inside.is_ok());
  CHECK(*(*inside)->db().query_int("PRAGMA page_size") == 65536);
}

TEST_CASE("store with an update spool: with synchronous=FULL a commit fsyncs the spool first, and fails if it "
          "cannot",
          "[unit][store][spool][fault]") {
  edgefed::testing::TempDir dir;
  auto file = std::make_shared<MemoryFile>();
  const StoreOptions options = memory_spool_options(file);
  auto store = Store::open(dir.path(), options);
  REQUIRE(store.is_ok());
  Store& s = **store;
  auto e1 = s.spool()->append(body_of(kRecord, 1));
  REQUIRE(e1.is_ok());
  REQUIRE(insert(s, "u1", *e1).is_ok());
  CHECK(file->syncs == 1);
  auto e2 = s.spool()->append(body_of(kRecord, 2));
  REQUIRE(e2.is_ok());
  file->fail_syncs = true;
  Status st = insert(s, "u2", *e2);
  CHECK(st.code() == Code::kUnavailable);
  file->fail_syncs = false;
  // Rolled back: only u1 is there; u2 can be stored again.
  auto rows = pending_of(s);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == "u1");
  REQUIRE(insert(s, "u2", *e2).is_ok());
  CHECK(pending_of(s).size() == 2);
}
