#include <sys/stat.h>

#include <set>

#include <catch2/catch.hpp>

#include "loop_fixture.hpp"
#include "sqlite_fault_env.hpp"

using namespace edgefed::agent;
using namespace edgefed::agent::testing;
using edgefed::Code;

namespace {

int64_t server_updates(FakeServerState& s) {
  std::lock_guard lock(s.mu);
  return static_cast<int64_t>(s.updates.size());
}
int64_t server_telemetry(FakeServerState& s) {
  std::lock_guard lock(s.mu);
  return static_cast<int64_t>(s.telemetry.size());
}
void set_down(FakeServerState& s, bool down) {
  std::lock_guard lock(s.mu);
  s.down = down;
}

}  // namespace

TEST_CASE("agent --once: one round trip, everything acknowledged", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  AgentConfig config = small_config(dir.path());
  config.device_class = "test-board";
  auto agent = AgentLoop::create(config, small_seams(server));
  REQUIRE(agent.is_ok());
  REQUIRE((*agent)->run_once().is_ok());
  const auto snap = (*agent)->snapshot();
  CHECK(server.system_labels["device_class"] == "test-board");  // the server's canary cohort spreads over classes
  CHECK(snap.rounds == 1);
  CHECK(snap.model_version == 1);
  CHECK(snap.depth.records() == 0);
  CHECK(snap.journal.updates_acked == 1);
  CHECK(server_updates(server) == 1);
  CHECK(server.normalizers == std::vector<std::string>{""});  // unstandardised data: none sent
  CHECK(snap.journal.telemetry_acked == server_telemetry(server));
  CHECK(snap.journal.telemetry_acked >= 2);  // train + system (+ link)
  CHECK(snap.link == LinkState::kOnline);
  struct stat st {};
  CHECK(::stat(dir.file("model.safetensors").c_str(), &st) == 0);
  CHECK(::stat(dir.file("task.json").c_str(), &st) == 0);
}

TEST_CASE("agent sends its data's input normalizer with each update", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  auto seams = small_seams(server);
  edgefed::ml::Normalizer n;
  n.mean = {0.25, 0.5, -1, 2};
  n.std = {1, 2, 0.5, 4};
  seams.data->normalizer = n;
  auto agent = AgentLoop::create(small_config(dir.path()), std::move(seams));
  REQUIRE(agent.is_ok());
  REQUIRE((*agent)->run_once().is_ok());
  std::lock_guard lock(server.mu);
  REQUIRE(server.normalizers.size() == 1);
  CHECK(server.normalizers[0] == n.to_string());
}

TEST_CASE("agent trains offline on its cached model and forwards it all on recovery", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  {
    auto first = AgentLoop::create(small_config(dir.path()), small_seams(server));
    REQUIRE(first.is_ok());
    REQUIRE((*first)->run_once().is_ok());
  }
  // Restart with the server unreachable: the cached model and task suffice.
  set_down(server, true);
  auto agent = AgentLoop::create(small_config(dir.path()), small_seams(server));
  REQUIRE(agent.is_ok());
  AgentLoop& a = **agent;
  edgefed::Status run_status;
  std::thread runner([&] { run_status = a.run(); });
  const bool queued = eventually([&] { return a.snapshot().depth.updates >= 5; });
  CHECK(queued);
  CHECK(a.snapshot().link == LinkState::kOffline);
  CHECK(server_updates(server) == 1);
  {
    std::lock_guard lock(server.mu);
    server.version = 2;  // the fleet moved on meanwhile
    server.model.params[0] += 0.5f;
  }
  set_down(server, false);
  const bool drained = eventually([&] {
    const auto s = a.snapshot();
    return s.depth.records() == 0 && s.model_version == 2;
  });
  a.stop();
  runner.join();
  CHECK(run_status.is_ok());
  CHECK(drained);
  const auto snap = a.snapshot();
  CHECK(snap.link == LinkState::kOnline);
  // Zero lost, zero double-counted: the server holds exactly what the
  // journal says was acknowledged.
  CHECK(snap.journal.updates_acked == server_updates(server));
  CHECK(snap.journal.updates_dropped == 0);
  CHECK(snap.journal.updates_created ==
        snap.journal.updates_acked + snap.depth.updates);
  CHECK(snap.journal.telemetry_acked + snap.journal.telemetry_dropped +
            snap.depth.telemetry == snap.journal.telemetry_created);
  CHECK(snap.journal.telemetry_acked == server_telemetry(server));
}

TEST_CASE("agent in sync mode sends one update per model version", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  server.mode = edgefed::MergeMode::kSync;
  auto agent = AgentLoop::create(small_config(dir.path()), small_seams(server));
  REQUIRE(agent.is_ok());
  AgentLoop& a = **agent;
  edgefed::Status run_status;
  std::thread runner([&] { run_status = a.run(); });
  CHECK(eventually([&] { return server_updates(server) == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(server_updates(server) == 1);
  {
    std::lock_guard lock(server.mu);
    server.version = 2;
  }
  CHECK(eventually([&] { return server_updates(server) == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  a.stop();
  runner.join();
  CHECK(run_status.is_ok());
  CHECK(server_updates(server) == 2);
}

TEST_CASE("agent stops promptly while waiting for a server that never answers", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  server.down = true;
  auto cfg = small_config(dir.path());
  cfg.idle_ms = 60000;
  cfg.link.backoff.max_ms = 60000;
  auto agent = AgentLoop::create(cfg, small_seams(server));
  REQUIRE(agent.is_ok());
  edgefed::Status run_status;
  std::thread runner([&] { run_status = (*agent)->run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  (*agent)->stop();
  runner.join();
  CHECK(run_status.is_ok());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  CHECK((*agent)->snapshot().rounds == 0);
}

TEST_CASE("agent --once without any model gives up with kUnavailable", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  server.down = true;
  auto cfg = small_config(dir.path());
  cfg.once_timeout_ms = 200;
  auto agent = AgentLoop::create(cfg, small_seams(server));
  REQUIRE(agent.is_ok());
  CHECK((*agent)->run_once().code() == Code::kUnavailable);
}

TEST_CASE("agent state dir is locked against a second agent", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  auto first = AgentLoop::create(small_config(dir.path()), small_seams(server));
  REQUIRE(first.is_ok());
  auto second = AgentLoop::create(small_config(dir.path()), small_seams(server));
  CHECK(second.status().code() == Code::kUnavailable);
  first->reset();
  CHECK(AgentLoop::create(small_config(dir.path()), small_seams(server)).is_ok());
}

TEST_CASE("agent refuses a bad configuration", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  auto cfg = small_config(dir.path());
  cfg.agent_id = "bad id!";
  CHECK(AgentLoop::create(cfg, small_seams(server)).status().code() == Code::kInvalidArgument);
  cfg = small_config(dir.path());
  auto seams = small_seams(server);
  seams.slowdown = 0.5;
  CHECK(AgentLoop::create(cfg, std::move(seams)).status().code() == Code::kInvalidArgument);
  cfg = small_config("");
  CHECK_FALSE(AgentLoop::create(cfg, small_seams(server)).is_ok());
}

TEST_CASE("agent offline cap: at most N queued updates per model version", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  {
    auto first = AgentLoop::create(small_config(dir.path()), small_seams(server));
    REQUIRE(first.is_ok());
    REQUIRE((*first)->run_once().is_ok());
  }
  set_down(server, true);
  auto cfg = small_config(dir.path());
  cfg.offline_updates_per_version = 2;
  auto agent = AgentLoop::create(cfg, small_seams(server));
  REQUIRE(agent.is_ok());
  AgentLoop& a = **agent;
  edgefed::Status run_status;
  std::thread runner([&] { run_status = a.run(); });
  const bool capped = eventually([&] { return a.snapshot().depth.updates == 2; });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto snap = a.snapshot();
  a.stop();
  runner.join();
  CHECK(run_status.is_ok());
  CHECK(capped);
  CHECK(snap.depth.updates == 2);
  CHECK(snap.rounds == 2);
}

TEST_CASE("agent keeps training through outbox storage faults and loses nothing acknowledged",
          "[unit][fault]") {
  const std::string fault = GENERATE(as<std::string>{}, "fsync", "disk_full");
  INFO(fault);
  edgefed::testing::SqliteFaultEnv env;  // outlives the agent's outbox connection
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  AgentConfig config = small_config(dir.path());
  config.outbox_full_sync = true;  // every commit fsyncs: the fsync fault hits them all
  config.outbox_vfs = env.vfs_name();
  {
    auto agent = AgentLoop::create(config, small_seams(server));
    REQUIRE(agent.is_ok());
    AgentLoop& a = **agent;
    edgefed::Status run_status;
    std::thread runner([&] { run_status = a.run(); });
    CHECK(eventually([&] { return a.snapshot().journal.updates_acked >= 2; }));
    if (fault == "fsync") {
      env.fail_syncs(-1);
    } else {
      env.disk_full_after(0);
    }
    const int64_t failures_before = a.snapshot().outbox_failures;
    // The loop goes on: it keeps training and trying to store and forward,
    // each outbox write failing and being skipped.
    const bool kept_going = eventually([&] { return a.snapshot().outbox_failures >= failures_before + 5; });
    CHECK(kept_going);
    const int64_t acked_during = a.snapshot().journal.updates_acked;
    env.clear();
    // Once the disk works again, it stores and forwards new rounds.
    const bool resumed = eventually([&] { return a.snapshot().journal.updates_acked >= acked_during + 2; });
    a.stop();
    runner.join();
    CHECK(run_status.is_ok());
    CHECK(kept_going);
    CHECK(resumed);
    CHECK(env.failed_syncs() + env.failed_writes() > 0);
  }
  // Nothing the journal acknowledged is lost: the server holds each one, and
  // the reopened outbox balances.
  auto acked = Outbox::read_journal(dir.file("outbox.db"), "acked");
  REQUIRE(acked.is_ok());
  int64_t acked_updates = 0;
  for (const auto& e : *acked) {
    if (e.kind != "update") continue;
    ++acked_updates;
    std::lock_guard lock(server.mu);
    CHECK(server.updates.count(e.ref) == 1);
  }
  CHECK(acked_updates >= 4);
  auto box = Outbox::open({.path = dir.file("outbox.db")});
  REQUIRE(box.is_ok());
  const auto j = *(*box)->journal();
  const auto d = *(*box)->depth();
  CHECK(j.updates_acked == acked_updates);
  CHECK(j.updates_created == d.updates + j.updates_acked + j.updates_rejected + j.updates_dropped);
  CHECK(j.telemetry_created == d.telemetry + j.telemetry_acked + j.telemetry_rejected + j.telemetry_dropped);
}

TEST_CASE("agent refuses a model whose architecture it cannot train and keeps training its last good one",
          "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  auto agent = AgentLoop::create(small_config(dir.path()), small_seams(server));
  REQUIRE(agent.is_ok());
  AgentLoop& a = **agent;
  edgefed::Status run_status;
  std::thread runner([&] { run_status = a.run(); });
  CHECK(eventually([&] { return a.snapshot().rounds >= 1; }));
  {
    // A newer server's model: the same tensors under a layer type this
    // agent does not know.
    std::lock_guard lock(server.mu);
    auto lstm = edgefed::ModelLayout::create(
        server.model.layout.tensors(),
        R"({"input":[4],"layers":[{"type":"lstm","out":8}],"loss":"softmax_cross_entropy"})");
    REQUIRE(lstm.is_ok());
    server.model.layout = *lstm;
    server.version = 2;
  }
  auto model_records = [&] {
    std::lock_guard lock(server.mu);
    int64_t n = 0;
    for (const auto& [seq, kind] : server.telemetry) n += kind == "model";
    return n;
  };
  CHECK(eventually([&] { return model_records() >= 1; }));
  const int64_t rounds = a.snapshot().rounds;
  CHECK(eventually([&] { return a.snapshot().rounds > rounds + 2; }));  // still training, on version 1
  a.stop();
  runner.join();
  CHECK(run_status.is_ok());
  CHECK(a.snapshot().model_version == 1);
  CHECK(model_records() == 1);  // once per distinct reason, not at every poll
}

namespace {

std::multiset<std::string> telemetry_kinds(FakeServerState& s) {
  std::lock_guard lock(s.mu);
  std::multiset<std::string> kinds;
  for (const auto& [seq, kind] : s.telemetry) kinds.insert(kind);
  return kinds;
}

void serve_version(FakeServerState& s, const edgefed::Model& m, int64_t version) {
  std::lock_guard lock(s.mu);
  s.model = m;
  s.version = version;
}

}  // namespace

TEST_CASE("agent serves a new version only if its holdout accuracy drops by at most the threshold",
          "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  init_server(server);
  // A good model (trained on the agent's own data) and a damaged one: the
  // output layer negated, which ranks the right class last.
  const auto data = small_data();
  auto trainer = edgefed::ml::Trainer::create(server.model.layout);
  REQUIRE(trainer.is_ok());
  edgefed::ml::TrainOptions o;
  o.epochs = 40;
  o.batch_size = 8;
  o.lr = 0.1f;
  auto trained = trainer->train(server.model, data.train, o);
  REQUIRE(trained.is_ok());
  edgefed::Model good = server.model;
  for (size_t i = 0; i < good.params.size(); ++i) good.params[i] += trained->delta[i];
  edgefed::Model bad = good;
  const size_t n = bad.layout.tensors().size();
  for (size_t t = n - 2; t < n; ++t)
    for (float& w : bad.tensor(t)) w = -w;
  const double good_acc = trainer->evaluate(good, data.validation)->accuracy;
  const double bad_acc = trainer->evaluate(bad, data.validation)->accuracy;
  REQUIRE(good_acc >= 0.75);
  REQUIRE(bad_acc < good_acc - 0.02);

  serve_version(server, good, 1);
  {
    auto agent = AgentLoop::create(small_config(dir.path()), small_seams(server));
    REQUIRE(agent.is_ok());
    REQUIRE((*agent)->run_once().is_ok());
    CHECK((*agent)->snapshot().serving_version == 1);
    CHECK((*agent)->serving().current()->validation.value == good_acc);
    CHECK((*agent)->serving().current()->validation.samples == 8);

    serve_version(server, bad, 2);
    REQUIRE((*agent)->run_once().is_ok());
    auto snap = (*agent)->snapshot();
    CHECK(snap.model_version == 2);    // trains on what the server asks
    CHECK(snap.serving_version == 1);  // but keeps serving the validated one
    CHECK(snap.models_rejected == 1);
    CHECK(snap.journal.updates_acked == 2);
    CHECK(telemetry_kinds(server).count("model_rejected") == 1);
    CHECK(telemetry_kinds(server).count("validation") == 2);

    // A better version after it is served.
    edgefed::Model better = good;
    better.params[0] += 1e-4f;
    serve_version(server, better, 3);
    REQUIRE((*agent)->run_once().is_ok());
    CHECK((*agent)->snapshot().serving_version == 3);
    CHECK(telemetry_kinds(server).count("validation") == 3);
    CHECK(telemetry_kinds(server).count("model_rejected") == 1);
  }
  // After a restart the validated model is served before the link is up.
  set_down(server, true);
  auto again = AgentLoop::create(small_config(dir.path()), small_seams(server));
  REQUIRE(again.is_ok());
  auto served = (*again)->serving().current();
  REQUIRE(served);
  CHECK(served->validation.version == 3);
  edgefed::Model better = good;
  better.params[0] += 1e-4f;
  CHECK(served->model.params == better.params);
  CHECK((*again)->snapshot().serving_version == 3);
}
