#include <catch2/catch.hpp>

#include "server/store/store.hpp"
#include "temp_dir.hpp"

using namespace edgefed::server;

namespace {

edgefed::Status add_version(VersionTable& t, int64_t v) {
  VersionRecord r;
  r.version = v;
  if (v > 0) r.parent = v - 1;
  r.kind = v == 0 ? "init" : "merge";
  r.layout_fingerprint = "fp";
  r.num_updates = v;
  if (v > 0) r.train_loss = 1.0 / v;
  const std::string blob = "ckpt-" + std::to_string(v);
  return t.insert(r, {reinterpret_cast<const uint8_t*>(blob.data()), blob.size()});
}

}  // namespace

TEST_CASE("versions: newest, checkpoint, history", "[unit][store]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  VersionTable& t = (*store)->versions();
  CHECK(!t.newest()->has_value());
  for (int v = 0; v <= 3; ++v) REQUIRE(add_version(t, v).is_ok());
  CHECK(add_version(t, 3).code() == edgefed::Code::kConflict);
  auto newest = t.newest();
  REQUIRE(newest->has_value());
  CHECK((*newest)->version == 3);
  CHECK(*(*newest)->parent == 2);
  CHECK(*(*newest)->train_loss == Approx(1.0 / 3));
  CHECK(**t.checkpoint(2) == "ckpt-2");
  CHECK(!t.checkpoint(9)->has_value());
  auto h = t.history(2);
  REQUIRE(h->size() == 2);
  CHECK((*h)[0].version == 2);
  CHECK((*h)[1].version == 3);
  CHECK(!(*t.history(10))[0].train_loss.has_value());
}

TEST_CASE("versions: retention keeps the last N and every Mth checkpoint", "[unit][store]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  VersionTable& t = (*store)->versions();
  for (int v = 0; v <= 25; ++v) {
    REQUIRE(add_version(t, v).is_ok());
    REQUIRE(t.prune(v, 3, 10).is_ok());
  }
  CHECK(*t.checkpointed() == std::vector<int64_t>{0, 10, 20, 23, 24, 25});
  // Rows stay for history even without blobs.
  CHECK(t.history(100)->size() == 26);
  REQUIRE(t.prune(25, 1, 0).is_ok());
  CHECK(*t.checkpointed() == std::vector<int64_t>{25});
}
