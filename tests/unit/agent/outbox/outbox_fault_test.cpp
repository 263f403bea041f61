// The outbox under storage faults injected through its seam
// (OutboxOptions::vfs and the fault VFS of tests/support): a failed fsync or
// a full disk fails the call with kUnavailable and changes nothing; what the
// journal acknowledged before stays; the outbox works again once the fault
// clears; a reopened outbox balances.
#include <set>

#include <catch2/catch.hpp>

#include "agent/outbox/outbox.hpp"
#include "scratch_dir.hpp"
#include "sqlite_fault_env.hpp"

using edgefed::Code;
using edgefed::Result;
using edgefed::TelemetryRecord;
using edgefed::UpdateAck;
using namespace edgefed::agent;

namespace {

Result<std::string> add(Outbox& box, int64_t base) {
  return box.add_update("agent-1", base, base, [](const std::string& uid) {
    return Result<std::string>(std::string(3000, 'x') + uid);
  });
}

}  // namespace

TEST_CASE("outbox: failed fsync or full disk fails the call, keeps every ack, recovers",
          "[unit][outbox][fault]") {
  const std::string fault = GENERATE(as<std::string>{}, "fsync", "disk_full");
  INFO(fault);
  edgefed::testing::SqliteFaultEnv env;
  edgefed::testing::ScratchDir dir;
  const std::string path = dir.file("outbox.db");
  std::string u1, u2, u3;
  {
    auto opened = Outbox::open({.path = path, .full_sync = true, .vfs = env.vfs_name()});
    REQUIRE(opened.is_ok());
    Outbox& box = **opened;
    u1 = *add(box, 1);
    u2 = *add(box, 2);
    REQUIRE(box.ack_update(u1, UpdateAck{1, 0, 1, false}, 10).is_ok());
    TelemetryRecord r;
    r.values["x"] = 1;
    REQUIRE(box.add_telemetry(r).is_ok());
    REQUIRE(box.add_telemetry(r).is_ok());
    REQUIRE(*box.ack_telemetry(1, 11) == 1);
    const auto before = *box.journal();

    if (fault == "fsync") {
      env.fail_syncs(-1);
    } else {
      env.disk_full_after(0);
    }
    // Every kind of write fails with a retryable Status and changes nothing.
    CHECK(add(box, 3).status().code() == Code::kUnavailable);
    CHECK(box.ack_update(u2, UpdateAck{2, 0, 1, false}, 12).code() == Code::kUnavailable);
    CHECK(box.add_telemetry(r).status().code() == Code::kUnavailable);
    CHECK(box.ack_telemetry(2, 13).status().code() == Code::kUnavailable);
    CHECK(box.mark_update_sent(u2).code() == Code::kUnavailable);
    CHECK(env.failed_syncs() + env.failed_writes() >= 5);
    // Reads keep working and show the state before the fault.
    const auto during = box.journal();
    REQUIRE(during.is_ok());
    CHECK(during->updates_created == before.updates_created);
    CHECK(during->updates_acked == before.updates_acked);
    CHECK(during->updates_sent == before.updates_sent);
    CHECK(during->telemetry_acked == before.telemetry_acked);
    CHECK(box.depth()->updates == 1);
    CHECK(box.depth()->telemetry == 1);
    CHECK(*box.acked_update_ids() == std::vector<std::string>{u1});

    env.clear();
    REQUIRE(box.ack_update(u2, UpdateAck{2, 0, 1, false}, 14).is_ok());
    auto third = add(box, 3);
    REQUIRE(third.is_ok());
    u3 = *third;
    CHECK(u3 != u1);
    CHECK(u3 != u2);
  }
  // Reopened (default VFS): the journal holds every ack, the queue the rest,
  // and the totals balance.
  auto reopened = Outbox::open({.path = path});
  REQUIRE(reopened.is_ok());
  Outbox& box = **reopened;
  CHECK(*box.acked_update_ids() == std::vector<std::string>{u1, u2});
  auto pending = box.oldest_updates(10);
  REQUIRE(pending.is_ok());
  REQUIRE(pending->size() == 1);
  CHECK(pending->front().update_id == u3);
  const auto j = *box.journal();
  const auto d = *box.depth();
  CHECK(j.updates_created == 3);
  CHECK(j.updates_created == d.updates + j.updates_acked);
  CHECK(j.telemetry_created == 2);
  CHECK(j.telemetry_created == d.telemetry + j.telemetry_acked);
  // The auditor's read-only view agrees.
  auto acked = Outbox::read_journal(path, "acked");
  REQUIRE(acked.is_ok());
  std::set<std::string> refs;
  for (const auto& e : *acked) refs.insert(e.kind + " " + e.ref);
  CHECK(refs == std::set<std::string>{"update " + u1, "update " + u2, "telemetry 1-1"});
}
