#include <catch2/catch.hpp>

#include "agent/outbox/outbox.hpp"
#include "scratch_dir.hpp"

using edgefed::Result;
using edgefed::TelemetryRecord;
using namespace edgefed::agent;

namespace {

std::unique_ptr<Outbox> open_limited_box(const std::string& path, OutboxLimits limits) {
  auto box = Outbox::open({.path = path, .limits = limits, .full_sync = false});
  REQUIRE(box.is_ok());
  return std::move(*box);
}

std::string add_limited_update(Outbox& box, size_t body_bytes = 10, Dropped* dropped = nullptr) {
  auto id = box.add_update(
      "agent-1", 1, 1, [&](const std::string&) { return Result<std::string>(std::string(body_bytes, 'u')); },
      dropped);
  REQUIRE(id.is_ok());
  return *id;
}

void add_record(Outbox& box, Dropped* dropped = nullptr) {
  TelemetryRecord r;
  r.values["loss"] = 1.5;
  REQUIRE(box.add_telemetry(r, dropped).is_ok());
}

// created == pending + acked + rejected + dropped, for both queues.
void check_balance(Outbox& box) {
  auto j = box.journal();
  auto d = box.depth();
  REQUIRE(j.is_ok());
  REQUIRE(d.is_ok());
  CHECK(j->updates_created ==
        d->updates + j->updates_acked + j->updates_rejected + j->updates_dropped);
  CHECK(j->telemetry_created ==
        d->telemetry + j->telemetry_acked + j->telemetry_rejected + j->telemetry_dropped);
}

}  // namespace

TEST_CASE("outbox keeps the newest N updates", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_limited_box(dir.file("o.db"), {.max_updates = 3, .max_telemetry = 100, .max_bytes = 1 << 20});
  std::vector<std::string> ids;
  Dropped dropped;
  for (int i = 0; i < 5; ++i) ids.push_back(add_limited_update(*box, 10, &dropped));
  CHECK(dropped.updates == 2);
  auto left = box->oldest_updates(10);
  REQUIRE(left->size() == 3);
  CHECK((*left)[0].update_id == ids[2]);
  CHECK((*left)[2].update_id == ids[4]);
  CHECK(box->journal()->updates_dropped == 2);
  check_balance(*box);
}

TEST_CASE("a full outbox drops an update already sent last: the server may hold it, a resend settles it", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_limited_box(dir.file("o.db"), {.max_updates = 3, .max_telemetry = 100, .max_bytes = 1 << 20});
  std::vector<std::string> ids;
  ids.push_back(add_limited_update(*box));
  // Sent, and the agent was killed (or the link cut) before the ack.
  REQUIRE(box->mark_update_sent(ids[0]).is_ok());
  Dropped dropped;
  for (int i = 0; i < 4; ++i) ids.push_back(add_limited_update(*box, 10, &dropped));
  CHECK(dropped.updates == 2);
  auto left = box->oldest_updates(10);
  REQUIRE(left->size() == 3);
  CHECK((*left)[0].update_id == ids[0]);  // kept, and still sent first
  CHECK((*left)[1].update_id == ids[3]);
  CHECK((*left)[2].update_id == ids[4]);
  check_balance(*box);
}

TEST_CASE("outbox keeps the newest N telemetry records", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_limited_box(dir.file("o.db"), {.max_updates = 3, .max_telemetry = 10, .max_bytes = 1 << 20});
  for (int i = 0; i < 25; ++i) add_record(*box);
  auto recs = box->oldest_telemetry(100, 1 << 20);
  REQUIRE(recs->size() == 10);
  CHECK(recs->front().seq == 16);
  CHECK(recs->back().seq == 25);
  CHECK(box->journal()->telemetry_dropped == 15);
  check_balance(*box);
}

TEST_CASE("outbox over its byte budget drops telemetry first, then old updates", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_limited_box(dir.file("o.db"), {.max_updates = 100, .max_telemetry = 1000, .max_bytes = 3000});
  for (int i = 0; i < 20; ++i) add_record(*box);  // ~50 bytes each
  const int64_t record_bytes = box->depth()->bytes / 20;
  REQUIRE(record_bytes * 20 <= 1400);
  add_limited_update(*box, 800);
  add_limited_update(*box, 800);
  CHECK(box->depth()->telemetry == 20);  // still fits
  Dropped dropped;
  add_limited_update(*box, 1400, &dropped);  // exactly the telemetry's bytes too many
  CHECK(dropped.updates == 0);
  CHECK(dropped.telemetry == 20);
  CHECK(box->depth()->updates == 3);
  CHECK(box->depth()->telemetry == 0);

  Dropped more;
  const auto newest = add_limited_update(*box, 2500, &more);  // only the newest fits
  CHECK(more.updates == 3);
  auto left = box->oldest_updates(10);
  REQUIRE(left->size() == 1);
  CHECK(left->front().update_id == newest);

  Dropped huge;
  const auto biggest = add_limited_update(*box, 5000, &huge);  // over budget alone: still kept
  CHECK(huge.updates == 1);
  CHECK(box->oldest_updates(10)->front().update_id == biggest);
  CHECK(record_bytes > 0);
  check_balance(*box);
}

TEST_CASE("outbox reports drops as one telemetry record of kind dropped", "[unit]") {
  edgefed::testing::ScratchDir dir;
  auto box = open_limited_box(dir.file("o.db"), {.max_updates = 2, .max_telemetry = 5, .max_bytes = 1 << 20});
  CHECK(*box->report_drops(1) == false);
  for (int i = 0; i < 4; ++i) add_limited_update(*box);
  for (int i = 0; i < 7; ++i) add_record(*box);
  REQUIRE(*box->report_drops(99) == true);
  auto recs = box->oldest_telemetry(100, 1 << 20);
  // The report itself pushed one more old record out: 5 kept, report newest.
  REQUIRE(recs->size() == 5);
  const auto& rep = recs->back();
  CHECK(rep.kind == "dropped");
  CHECK(rep.ts_ms == 99);
  CHECK(rep.values.at("updates") == 2);
  CHECK(rep.values.at("telemetry") == 2);
  CHECK(rep.values.at("updates_total") == 2);
  CHECK(rep.values.at("telemetry_total") == 2);
  // The record dropped to make room for the report is reported next time.
  REQUIRE(*box->report_drops(101) == true);
  CHECK(box->oldest_telemetry(100, 1 << 20)->back().values.at("telemetry") == 1);
  CHECK(box->oldest_telemetry(100, 1 << 20)->back().values.at("telemetry_total") == 3);
  // Once there is room, a report drops nothing and the next call has nothing to say.
  REQUIRE(box->ack_telemetry(1000, 1).is_ok());
  REQUIRE(*box->report_drops(102) == true);
  CHECK(*box->report_drops(103) == false);
  check_balance(*box);
}
