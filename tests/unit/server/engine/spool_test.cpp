// The engine with the update spool (--spool-mb, server/store/update_spool.hpp)
// through its file seam (EngineOptions::store_spool_file): bodies go to the
// spool and rows name them; a body the spool cannot take goes into the
// database instead; after a restart both kinds are replayed and merged once;
// a body that never reached the spool's disk is dropped, not merged as
// something else; a failed fsync of the spool stops writes like one of the
// WAL.
#include <catch2/catch.hpp>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "../store/memory_spool_file.hpp"
#include "engine_test_support.hpp"
#include "server/store/store.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

EngineOptions spool_options(const std::string& dir, std::shared_ptr<FakeClock> clock,
                            std::shared_ptr<MemoryFile> file, bool pipeline) {
  auto o = small_options(dir, std::move(clock));
  o.fsync_full = true;
  o.fsync_pipeline = pipeline;
  o.buffer_k = 100;  // merged on the buffer timeout only
  o.buffer_timeout_s = 1;
  o.store_spool_file = memory_spool_opener(std::move(file));
  return o;
}

std::string body(const std::string& id, float v) { return make_update("a", id, 0, 1, 0.5, filled(v)); }

double metric(prometheus::Registry& r, const std::string& name) {
  const std::string text = prometheus::TextSerializer().Serialize(r.Collect());
  const auto pos = text.find("\n" + name + " ");
  REQUIRE(pos != std::string::npos);
  return std::stod(text.substr(pos + name.size() + 2));
}

// (update_id, body in the payload column, body in the spool) per row.
struct Row {
  std::string id;
  bool inline_body;
  bool spooled;
};
std::vector<Row> ledger_rows(const std::string& dir) {
  auto store = server::Store::open(dir);
  REQUIRE(store.is_ok());
  auto st = (*store)->db().prepare(
      "SELECT update_id, payload IS NOT NULL, spool_offset IS NOT NULL FROM ledger ORDER BY id");
  REQUIRE(st.is_ok());
  std::vector<Row> rows;
  for (;;) {
    auto more = st->step();
    REQUIRE(more.is_ok());
    if (!*more) break;
    rows.push_back({st->column_text(0), st->column_int(1) != 0, st->column_int(2) != 0});
  }
  return rows;
}

// Merges what is buffered (buffer timeout) and returns the move of
// coordinate 0 from the version before.
double merge_and_move(Engine& e, FakeClock& clock, int64_t version) {
  const float before = params_of(e.current_model())[0];
  clock.advance_s(2);
  REQUIRE(wait_version(e, version));
  return params_of(e.current_model())[0] - before;
}

}  // namespace

TEST_CASE("update spool: rows name spooled bodies, a body the spool cannot take goes into the database, and after "
          "a restart all are replayed and merged once",
          "[unit][engine][spool]") {
  const bool pipeline = GENERATE(false, true);
  INFO("pipelined fsync: " << pipeline);
  TempDir dir;
  auto file = std::make_shared<MemoryFile>();
  {
    auto registry = std::make_shared<prometheus::Registry>();
    auto e = Engine::open(spool_options(dir.path(), std::make_shared<FakeClock>(), file, pipeline), registry);
    REQUIRE(e.is_ok());
    REQUIRE((*e)->submit_update("a", as_span(body("u0", 0.1f))).is_ok());
    REQUIRE((*e)->submit_update("a", as_span(body("u1", 0.2f))).is_ok());
    file->fail_writes = true;
    REQUIRE((*e)->submit_update("a", as_span(body("u2", 0.3f))).is_ok());
    file->fail_writes = false;
    CHECK(metric(*registry, "edgefed_store_spool_fallbacks_total") == 1);
    REQUIRE((*e)->submit_update("a", as_span(body("u3", 0.4f))).is_ok());
    // A retry is answered from the ledger; its second copy is not kept.
    const size_t spool_bytes = file->bytes.size();
    auto again = (*e)->submit_update("a", as_span(body("u0", 0.1f)));
    REQUIRE(again.is_ok());
    CHECK(again->duplicate);
    CHECK(file->syncs >= 3);  // each spooled body was fsynced before its answer
    CHECK(file->bytes.size() > spool_bytes);  // written, then released
  }
  const auto rows = ledger_rows(dir.path());
  REQUIRE(rows.size() == 4);
  for (const Row& r : rows) {
    INFO(r.id);
    CHECK(r.spooled == (r.id != "u2"));
    CHECK(r.inline_body == (r.id == "u2"));
  }
  auto clock = std::make_shared<FakeClock>();
  auto e = Engine::open(spool_options(dir.path(), clock, file, pipeline), nullptr);
  REQUIRE(e.is_ok());
  CHECK((*e)->status().updates_accepted == 4);
  CHECK((*e)->status().updates_merged == 0);
  // Equal weights: the mean of 0.1, 0.2, 0.3 and 0.4.
  CHECK(merge_and_move(**e, *clock, 1) == Approx(0.25).margin(1e-6));
  CHECK((*e)->status().updates_merged == 4);
}

TEST_CASE("update spool: a body that never reached the disk is dropped at restart, the others merged",
          "[unit][engine][spool][crash]") {
  TempDir dir;
  auto file = std::make_shared<MemoryFile>();
  {
    auto e = Engine::open(spool_options(dir.path(), std::make_shared<FakeClock>(), file, true), nullptr);
    REQUIRE(e.is_ok());
    REQUIRE((*e)->submit_update("a", as_span(body("u0", 0.1f))).is_ok());
    // The file takes u1's bytes and loses them, as a crash before the fsync
    // would (so this answer, unlike a real one, was given).
    file->drop_writes = true;
    REQUIRE((*e)->submit_update("a", as_span(body("u1", 0.5f))).is_ok());
    file->drop_writes = false;
    REQUIRE((*e)->submit_update("a", as_span(body("u2", 0.3f))).is_ok());
  }
  auto clock = std::make_shared<FakeClock>();
  auto e = Engine::open(spool_options(dir.path(), clock, file, true), nullptr);
  REQUIRE(e.is_ok());
  // u1 is not merged as anything: the mean of 0.1 and 0.3 alone.
  CHECK(merge_and_move(**e, *clock, 1) == Approx(0.2).margin(1e-6));
  CHECK((*e)->status().history.back().updates == 2);
}

TEST_CASE("update spool: a failed fsync of the spool refuses the call and, pipelined, every write until restart",
          "[unit][engine][spool][fault]") {
  const bool pipeline = GENERATE(false, true);
  INFO("pipelined fsync: " << pipeline);
  TempDir dir;
  auto file = std::make_shared<MemoryFile>();
  {
    auto e = Engine::open(spool_options(dir.path(), std::make_shared<FakeClock>(), file, pipeline), nullptr);
    REQUIRE(e.is_ok());
    REQUIRE((*e)->submit_update("a", as_span(body("u0", 0.1f))).is_ok());
    file->fail_syncs = true;
    auto failed = (*e)->submit_update("a", as_span(body("u1", 0.5f)));
    REQUIRE_FALSE(failed.is_ok());
    CHECK(failed.status().code() == Code::kUnavailable);
    file->fail_syncs = false;
    if (pipeline) {
      // Committed but maybe not on disk: nothing more is written.
      CHECK_FALSE((*e)->ready());
      CHECK_FALSE((*e)->submit_update("a", as_span(body("u2", 0.3f))).is_ok());
    } else {
      // Rolled back: the engine goes on, and the retry is stored.
      CHECK((*e)->ready());
      REQUIRE((*e)->submit_update("a", as_span(body("u1", 0.5f))).is_ok());
    }
  }
  auto clock = std::make_shared<FakeClock>();
  auto e = Engine::open(spool_options(dir.path(), clock, file, pipeline), nullptr);
  REQUIRE(e.is_ok());
  // Pipelined, u1's commit may or may not have reached the disk before the
  // failed fsync (here: it did, and its spooled body too, as the memory file
  // keeps what was written): either way it is merged at most once.
  const double moved = merge_and_move(**e, *clock, 1);
  CHECK(moved == Approx(0.3).margin(1e-6));  // u0 and u1
  CHECK((*e)->status().updates_merged == 2);
}
