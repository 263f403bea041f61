// Version lineage: checkpoint retention, rollback, replacing the model,
// long-poll callbacks and the metrics the engine exports.
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>

#include "edgefed/ml/normalizer.hpp"
#include "engine_test_support.hpp"
#include "server/store/store.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

std::unique_ptr<Engine> open_k1(const std::string& dir, int64_t keep_last_n = 20, int64_t keep_every_m = 100,
                                std::shared_ptr<prometheus::Registry> registry = nullptr) {
  auto o = small_options(dir, std::make_shared<FakeClock>());
  o.buffer_k = 1;
  o.keep_last_n = keep_last_n;
  o.keep_every_m = keep_every_m;
  // The pruning rule alone: the serving channels' stable and canary
  // versions, also kept, are channels_test.cpp's.
  o.channels.canary_fraction = 0;
  return Engine::open(o, std::move(registry)).value();
}

void push(Engine& e, const std::string& id, float value) {
  const int64_t base = e.current_model().version;
  REQUIRE(e.submit_update("a", as_span(make_update("a", id, base, 1, 0.5, filled(value)))).is_ok());
}

}  // namespace

TEST_CASE("checkpoints: the last N and every Mth are kept", "[unit][engine]") {
  TempDir dir;
  {
    auto e = open_k1(dir.path(), 3, 4);
    for (int i = 1; i <= 10; ++i) push(*e, std::to_string(i), 0.25f);
    CHECK(e->current_model().version == 10);
    CHECK(e->rollback(5).code() == Code::kNotFound);  // pruned
    CHECK(e->rollback(42).code() == Code::kNotFound);
    e->shutdown();
  }
  auto store = server::Store::open(dir.path(), {.fsync_full = false});
  CHECK(*(*store)->versions().checkpointed() == std::vector<int64_t>{0, 4, 8, 9, 10});
  CHECK((*store)->versions().history(100)->size() == 11);  // every version keeps its row
}

TEST_CASE("rollback commits a new version with the old parameters", "[unit][engine]") {
  TempDir dir;
  auto e = open_k1(dir.path());
  push(*e, "1", 1.0f);
  const auto v1 = params_of(e->current_model());
  push(*e, "2", 2.0f);
  REQUIRE(e->current_model().version == 2);
  REQUIRE(e->rollback(1).is_ok());
  CHECK(e->current_model().version == 3);  // versions never go backwards
  CHECK(params_of(e->current_model()) == v1);
  // Updates computed from version 2 still count (tau = 1) and apply to v3.
  auto ack = e->submit_update("a", as_span(make_update("a", "3", 2, 1, 0.5, filled(0.5f))));
  REQUIRE(ack.is_ok());
  CHECK(ack->staleness == 1);
  const auto v4 = params_of(e->current_model());
  for (size_t i = 0; i < v1.size(); ++i) CHECK(v4[i] == v1[i] + 0.5f);
}

TEST_CASE("set_model and init_model replace the model and drop the pending buffer", "[unit][engine]") {
  TempDir dir;
  auto o = small_options(dir.path(), std::make_shared<FakeClock>());
  o.buffer_k = 10;
  auto e = Engine::open(o, nullptr).value();
  REQUIRE(e->submit_update("a", as_span(make_update("a", "1", 0, 1, 0.5, filled(1.0f)))).is_ok());
  Model m(layout_of());
  for (size_t i = 0; i < m.params.size(); ++i) m.params[i] = static_cast<float>(i);
  const std::string file = encode_model(m, 77);
  REQUIRE(e->set_model(as_span(file)).is_ok());
  CHECK(e->current_model().version == 1);
  CHECK(params_of(e->current_model()) == m.params);
  CHECK(e->status().updates_merged == 0);  // the pending update was discarded
  // A new layout: old-layout updates are refused from now on.
  REQUIRE(e->init_model("mlp:5-3", 9).is_ok());
  CHECK(e->current_model().version == 2);
  CHECK(e->status().layout == "mlp:5-3");
  CHECK(e->submit_update("a", as_span(make_update("a", "2", 2, 1, 0.5, filled(1.0f)))).status().code() ==
        Code::kDimensionMismatch);
  CHECK(e->submit_update("a", as_span(make_update("a", "3", 2, 1, 0.5, filled(1.0f, "mlp:5-3"), "mlp:5-3")))
            .is_ok());
  CHECK(e->init_model("mlp:x", 1).code() == Code::kInvalidArgument);
  const std::string junk = "junk";
  CHECK(!e->set_model(as_span(junk)).is_ok());
}

TEST_CASE("long-poll callbacks run once for a newer version; cancel stops them", "[unit][engine]") {
  TempDir dir;
  auto e = open_k1(dir.path());
  int immediate = 0, later = 0, cancelled = 0;
  int64_t seen = -1;
  e->on_version_after(-1, [&](Engine::ModelSnapshot s) { ++immediate; seen = s.version; });
  CHECK(immediate == 1);  // version 0 > -1: called at once
  CHECK(seen == 0);
  e->on_version_after(0, [&](Engine::ModelSnapshot s) { ++later; seen = s.version; });
  const uint64_t id = e->on_version_after(0, [&](Engine::ModelSnapshot) { ++cancelled; });
  e->cancel(id);
  CHECK(later == 0);
  push(*e, "1", 1.0f);  // the callback runs before submit_update returns
  CHECK(later == 1);
  CHECK(seen == 1);
  push(*e, "2", 1.0f);
  CHECK(later == 1);
  CHECK(cancelled == 0);
  const auto snap = e->current_model();
  CHECK(snap.etag == "\"v2-" + layout_of().fingerprint() + "\"");
}

TEST_CASE("engine metrics are registered with HELP and move", "[unit][engine]") {
  TempDir dir;
  auto registry = std::make_shared<prometheus::Registry>();
  auto e = open_k1(dir.path(), 20, 100, registry);
  push(*e, "1", 1.0f);
  CHECK(e->submit_update("x", as_span(make_update("a", "2", 0, 1, 0.5, filled(1.0f)))).status().code() ==
        Code::kPermissionDenied);
  TelemetryBatch b{"a", {{1, 1, "train", {}, {}}}};
  REQUIRE(e->submit_telemetry("a", b).is_ok());
  const std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  for (const char* name : {"edgefed_model_version", "edgefed_global_loss", "edgefed_gradient_variance",
                           "edgefed_update_staleness", "edgefed_update_age_seconds", "edgefed_updates_total",
                           "edgefed_telemetry_records_total", "edgefed_agents", "edgefed_aggregation_seconds"}) {
    INFO(name);
    CHECK(text.find(std::string("# HELP ") + name + " ") != std::string::npos);
  }
  CHECK(text.find("edgefed_model_version 1") != std::string::npos);
  CHECK(text.find("edgefed_updates_total{result=\"accepted\"} 1") != std::string::npos);
  CHECK(text.find("edgefed_updates_total{result=\"permission_denied\"} 1") != std::string::npos);
  CHECK(text.find("edgefed_telemetry_records_total 1") != std::string::npos);
  CHECK(text.find("edgefed_aggregation_seconds_count 1") != std::string::npos);
  CHECK(text.find("edgefed_update_staleness_count 1") != std::string::npos);
}

TEST_CASE("status reports counters, agents and history; shutdown is idempotent", "[unit][engine]") {
  TempDir dir;
  auto e = open_k1(dir.path());
  CHECK(e->ready());
  push(*e, "1", 1.0f);
  auto s = e->status();
  CHECK(s.model_version == 1);
  CHECK(s.mode == edgefed::MergeMode::kAsync);
  CHECK(s.layout == "mlp:4-2");
  CHECK(s.updates_accepted == 1);
  CHECK(s.updates_merged == 1);
  CHECK(s.agents == 1);
  REQUIRE(s.agent_list.size() == 1);
  CHECK(s.agent_list[0].updates == 1);
  CHECK(s.loss_source == "reported");
  CHECK(s.history.size() == 2);
  e->shutdown();
  e->shutdown();
  CHECK(!e->ready());
  CHECK(e->submit_update("a", as_span(make_update("a", "9", 1, 1, 0.5, filled(1.0f)))).status().code() ==
        Code::kUnavailable);
  CHECK(e->current_model().version == 1);  // reads still work after shutdown
}

TEST_CASE("server_lr 0 means the mode's default: 1 for sync, 0.25 for async", "[unit][engine]") {
  EngineOptions o;
  CHECK(o.server_lr == 0);
  CHECK(server::effective_server_lr(o) == 0.25);
  o.mode = edgefed::MergeMode::kSync;
  CHECK(server::effective_server_lr(o) == 1.0);
  o.server_lr = 0.5;
  CHECK(server::effective_server_lr(o) == 0.5);
  TempDir dir;
  auto opts = small_options(dir.path(), std::make_shared<FakeClock>());
  opts.server_lr = 0;
  opts.buffer_k = 1;
  auto e = Engine::open(opts, nullptr).value();
  const auto v0 = params_of(e->current_model());
  push(*e, "1", 2.0f);
  const auto v1 = params_of(e->current_model());
  for (size_t i = 0; i < v0.size(); ++i) CHECK(v1[i] == v0[i] + 0.5f);  // 0.25 x 2
}

TEST_CASE("open refuses bad options", "[unit][engine]") {
  TempDir dir;
  auto o = small_options(dir.path(), nullptr);
  auto bad = [&](auto&& mutate) {
    auto copy = o;
    mutate(copy);
    return Engine::open(copy, nullptr).status().code();
  };
  CHECK(bad([](EngineOptions& x) {
          x.staleness_fn = server::StalenessKind::kPolynomial;
          x.staleness_a = -1;
        }) == Code::kInvalidArgument);
  CHECK(bad([](EngineOptions& x) { x.trim_beta = 0.5; }) == Code::kInvalidArgument);
  CHECK(bad([](EngineOptions& x) {
          x.server_optimizer = server::ServerOptimizerKind::kFedAdam;
          x.server_tau = 0;
        }) == Code::kInvalidArgument);
  CHECK(bad([](EngineOptions& x) { x.server_lr = -1; }) == Code::kInvalidArgument);
  CHECK(bad([](EngineOptions& x) { x.buffer_k = 0; }) == Code::kInvalidArgument);
  CHECK(bad([](EngineOptions& x) { x.state_dir = ""; }) == Code::kInvalidArgument);
  CHECK(bad([](EngineOptions& x) { x.model_init = "mlp:0-1"; }) == Code::kInvalidArgument);
  CHECK(bad([](EngineOptions& x) { x.state_dir = "/proc/nope"; }) == Code::kIo);
}

namespace {

std::string scaled_update(const std::string& agent, const std::string& id, int64_t samples,
                          const std::string& normalizer) {
  UpdateMetadata m;
  m.agent_id = agent;
  m.update_id = id;
  m.base_version = 0;
  m.num_samples = samples;
  m.train_loss = 0.5;
  m.normalizer = normalizer;
  return encode_update(layout_of(), filled(0.0f), m).value();
}

ml::Normalizer normalizer_of(Engine& e) {
  const auto model = decode_model(as_span(*e.current_model().bytes)).value().model;
  REQUIRE_FALSE(model.normalizer.empty());
  return ml::Normalizer::parse(model.normalizer).value();
}

}  // namespace

TEST_CASE("a merged version carries the sample-weighted pool of its updates' input normalizers",
          "[unit][engine]") {
  TempDir dir;
  auto o = small_options(dir.path(), std::make_shared<FakeClock>());
  o.buffer_k = 2;
  {
    auto e = Engine::open(o, nullptr).value();
    REQUIRE(e->submit_update("a", as_span(scaled_update("a", "1", 1, R"({"mean":[0,10],"std":[1,2]})"))).is_ok());
    // Another channel count than the buffer's, or a normalizer that does not
    // parse: refused, nothing recorded.
    auto three = e->submit_update("b", as_span(scaled_update("b", "x", 3, R"({"mean":[0,0,0],"std":[1,1,1]})")));
    CHECK(three.status().code() == Code::kInvalidArgument);
    CHECK_THAT(three.status().message(), Catch::Contains("3 channels, the buffered updates' 2"));
    auto bad = e->submit_update("b", as_span(scaled_update("b", "y", 3, R"({"mean":[0,0],"std":[1,0]})")));
    CHECK(bad.status().code() == Code::kInvalidArgument);
    CHECK_THAT(bad.status().message(), Catch::StartsWith("update metadata.normalizer: "));
    CHECK(e->status().updates_accepted == 1);
    REQUIRE(e->submit_update("b", as_span(scaled_update("b", "1", 3, R"({"mean":[4,10],"std":[1,2]})"))).is_ok());
    REQUIRE(wait_version(*e, 1));
    // mean = (0 x 1 + 4 x 3) / 4 = 3; var = (1 x 1 + 3 x (1 + 16)) / 4 - 9 = 4
    const ml::Normalizer n = normalizer_of(*e);
    CHECK(n.mean == std::vector<double>{3, 10});
    CHECK(n.std[0] == Approx(2));
    CHECK(n.std[1] == Approx(2));
    // One accepted update waits in the buffer when the engine stops.
    REQUIRE(e->submit_update("a", as_span(scaled_update("a", "2", 2, R"({"mean":[1,1],"std":[3,3]})"))).is_ok());
    e->shutdown();
  }
  // Reopened: the replayed update's normalizer is pooled again; an update
  // without one (an agent that does not standardise) changes nothing.
  auto e = Engine::open(o, nullptr).value();
  CHECK(normalizer_of(*e).mean == std::vector<double>{3, 10});  // version 1's, from its checkpoint
  REQUIRE(e->submit_update("c", as_span(scaled_update("c", "1", 5, ""))).is_ok());
  REQUIRE(wait_version(*e, 2));
  const ml::Normalizer n = normalizer_of(*e);
  CHECK(n.mean == std::vector<double>{1, 1});
  CHECK(n.std == std::vector<double>{3, 3});
}
