#include <catch2/catch.hpp>

#include "agent/loop/forwarder.hpp"
#include "loop_fixture.hpp"

using namespace edgefed::agent;
using namespace edgefed::agent::testing;
using edgefed::Result;
using edgefed::TelemetryRecord;

namespace {

struct Rig {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  edgefed::FakeClock clock;
  std::unique_ptr<Outbox> box;
  std::unique_ptr<Link> link;
  std::unique_ptr<Forwarder> fwd;
  Rig() {
    init_server(server);
    box = Outbox::open({.path = dir.file("o.db"), .limits = {}, .full_sync = false}).value();
    LinkOptions lo;
    lo.agent_id = "agent-1";
    lo.backoff = {.initial_ms = 100, .max_ms = 1000, .multiplier = 2.0, .jitter = 0.0, .seed = 1};
    link = Link::create(lo, std::make_unique<FakeServerTransport>(server), clock);
    ForwardOptions fo;
    fo.telemetry_batch = 4;
    fwd = std::make_unique<Forwarder>(*box, *link, clock, "agent-1", fo);
  }
  std::string add_update(bool valid = true) {
    auto id = box->add_update("agent-1", 1, 0, [&](const std::string& uid) -> Result<std::string> {
      if (!valid) return std::string("garbage");
      std::vector<float> delta(server.model.params.size(), 0.01f);
      edgefed::UpdateMetadata m;
      m.agent_id = "agent-1";
      m.update_id = uid;
      m.base_version = 1;
      m.num_samples = 10;
      return edgefed::encode_update(server.model.layout, delta, m);
    });
    REQUIRE(id.is_ok());
    return *id;
  }
  void add_records(int n) {
    for (int i = 0; i < n; ++i) {
      TelemetryRecord r;
      r.values["loss"] = i;
      REQUIRE(box->add_telemetry(r).is_ok());
    }
  }
};

}  // namespace

TEST_CASE("forwarder drains updates then telemetry, in order, in batches", "[unit]") {
  Rig rig;
  for (int i = 0; i < 3; ++i) rig.add_update();
  rig.add_records(10);
  auto s = rig.fwd->forward();
  REQUIRE(s.is_ok());
  CHECK(s->updates_acked == 3);
  CHECK(s->telemetry_acked == 10);
  CHECK(s->drained);
  CHECK(rig.server.updates.size() == 3);
  CHECK(rig.server.telemetry.size() == 10);
  CHECK(rig.server.telemetry_posts == 3);  // batches of 4, 4, 2
  auto j = rig.box->journal();
  CHECK(j->updates_sent == 3);
  CHECK(j->telemetry_sent == 10);
}

TEST_CASE("forwarder drops a permanently refused update and goes on", "[unit]") {
  Rig rig;
  rig.add_update();
  rig.add_update(false);  // the server answers 422
  rig.add_update();
  auto s = rig.fwd->forward();
  REQUIRE(s.is_ok());
  CHECK(s->updates_acked == 2);
  CHECK(s->updates_rejected == 1);
  CHECK(s->drained);
  CHECK(rig.box->journal()->updates_rejected == 1);
}

TEST_CASE("forwarder stops at the first failure, keeps everything, resumes after backoff", "[unit]") {
  Rig rig;
  for (int i = 0; i < 4; ++i) rig.add_update();
  rig.add_records(5);
  rig.server.down = true;
  auto s = rig.fwd->forward();
  REQUIRE(s.is_ok());
  CHECK(s->link_failed);
  CHECK_FALSE(s->drained);
  CHECK(rig.server.requests == 1);  // no hammering
  CHECK(rig.box->depth()->records() == 9);
  // Not ready yet: forward() does not even try.
  rig.server.down = false;
  s = rig.fwd->forward();
  CHECK(s->link_failed);
  CHECK(rig.server.requests == 1);
  rig.clock.advance_ms(100);
  s = rig.fwd->forward();
  CHECK(s->drained);
  CHECK(rig.server.updates.size() == 4);
  CHECK(rig.server.telemetry.size() == 5);
}

TEST_CASE("forwarder resends after a lost ack without double counting", "[unit]") {
  Rig rig;
  const auto id = rig.add_update();
  // The server got it but the agent never saw the 202 (crash, cut): the
  // update is still in the outbox and goes again.
  rig.server.updates.insert(id);
  auto s = rig.fwd->forward();
  CHECK(s->updates_acked == 1);
  CHECK(rig.server.updates.size() == 1);
  CHECK(rig.server.update_posts == 1);
  CHECK(rig.box->journal()->updates_duplicate == 1);
  CHECK(rig.box->journal()->updates_acked == 1);
}
