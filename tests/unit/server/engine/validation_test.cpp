// What submit_update refuses, and how retries and telemetry duplicates are
// answered.
#include <cmath>
#include <future>
#include <limits>
#include <mutex>

#include <catch2/catch.hpp>

#include "engine_test_support.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

std::unique_ptr<Engine> open_engine(const std::string& dir, int64_t k = 10) {
  auto o = small_options(dir, std::make_shared<FakeClock>());
  o.buffer_k = k;
  o.max_staleness = 1;
  return Engine::open(o, nullptr).value();
}

// An update whose delta holds NaN: encode a marker, then patch its bytes
// (encode_update itself refuses NaN).
std::string nan_update() {
  auto delta = filled(0.0f);
  delta[3] = 1234.5f;
  std::string body = make_update("a", "nan", 0, 1, 0.0, delta);
  const float marker = 1234.5f, nan = std::numeric_limits<float>::quiet_NaN();
  const auto pos = body.find(std::string(reinterpret_cast<const char*>(&marker), 4));
  REQUIRE(pos != std::string::npos);
  std::memcpy(body.data() + pos, &nan, 4);
  return body;
}

}  // namespace

TEST_CASE("submit_update refuses bad updates with the documented codes", "[unit][engine]") {
  TempDir dir;
  auto e = open_engine(dir.path());
  SECTION("agent id in metadata differs from the certificate CN: 403") {
    auto r = e->submit_update("mallory", as_span(make_update("alice", "1", 0, 1, 0, filled(1.0f))));
    CHECK(r.status().code() == Code::kPermissionDenied);
  }
  SECTION("update for another layout: 422 dimension_mismatch") {
    auto r = e->submit_update("a", as_span(make_update("a", "1", 0, 1, 0, filled(1.0f, "mlp:5-2"), "mlp:5-2")));
    CHECK(r.status().code() == Code::kDimensionMismatch);
    CHECK(http_status_for(r.status().code()) == 422);
  }
  SECTION("NaN in the delta: 422 non_finite") {
    auto r = e->submit_update("a", as_span(nan_update()));
    CHECK(r.status().code() == Code::kNonFinite);
  }
  SECTION("garbage body: 400") {
    std::string junk(8, '\0');
    junk[0] = 2;  // header length 2, then a header that is not JSON
    junk += "{x";
    CHECK(e->submit_update("a", as_span(junk)).status().code() == Code::kInvalidArgument);
  }
  SECTION("base version from the future: 400") {
    auto r = e->submit_update("a", as_span(make_update("a", "1", 5, 1, 0, filled(1.0f))));
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
  CHECK(e->status().updates_accepted == 0);
}

TEST_CASE("updates past max_staleness get 410", "[unit][engine]") {
  TempDir dir;
  auto e = open_engine(dir.path(), 1);
  REQUIRE(e->submit_update("a", as_span(make_update("a", "1", 0, 1, 0, filled(1.0f)))).is_ok());
  REQUIRE(e->submit_update("a", as_span(make_update("a", "2", 1, 1, 0, filled(1.0f)))).is_ok());
  REQUIRE(e->current_model().version == 2);
  auto ok = e->submit_update("b", as_span(make_update("b", "1", 1, 1, 0, filled(1.0f))));  // tau 1
  CHECK(ok.is_ok());
  auto stale = e->submit_update("b", as_span(make_update("b", "2", 1, 1, 0, filled(1.0f))));  // tau 2
  CHECK(stale.status().code() == Code::kTooStale);
  CHECK(http_status_for(stale.status().code()) == 410);
}

TEST_CASE("a retried update_id gets the original answer and is merged once", "[unit][engine]") {
  TempDir dir;
  auto e = open_engine(dir.path(), 1);  // every update makes a version
  const std::string body = make_update("a", "u-1", 0, 5, 0.5, filled(1.0f));
  auto first = e->submit_update("a", as_span(body));
  REQUIRE(first.is_ok());
  CHECK(!first->duplicate);
  REQUIRE(e->current_model().version == 1);
  const auto v1 = params_of(e->current_model());
  auto again = e->submit_update("a", as_span(body));
  REQUIRE(again.is_ok());
  CHECK(again->duplicate);
  CHECK(again->version == first->version);
  CHECK(again->staleness == first->staleness);
  CHECK(again->weight == first->weight);
  CHECK(e->current_model().version == 1);
  CHECK(params_of(e->current_model()) == v1);
  CHECK(e->status().updates_accepted == 1);
  // Same id, other body: 409.
  auto other = e->submit_update("a", as_span(make_update("a", "u-1", 1, 5, 0.5, filled(2.0f))));
  CHECK(other.status().code() == Code::kConflict);
  // Same id from another agent is another update.
  CHECK(!e->submit_update("b", as_span(make_update("b", "u-1", 1, 5, 0.5, filled(1.0f))))->duplicate);
}

TEST_CASE("quarantined agents get 403 until released, across restarts", "[unit][engine]") {
  TempDir dir;
  {
    auto e = open_engine(dir.path());
    REQUIRE(e->set_quarantine("bad", true, "gradient variance").is_ok());
    auto r = e->submit_update("bad", as_span(make_update("bad", "1", 0, 1, 0, filled(1.0f))));
    CHECK(r.status().code() == Code::kPermissionDenied);
    CHECK(e->task_for("bad").status().code() == Code::kPermissionDenied);
    CHECK(e->task_for("good").is_ok());
    e->shutdown();
  }
  auto e = open_engine(dir.path());
  auto agents = e->agents();
  REQUIRE(agents.size() == 1);
  CHECK(agents[0].state == "quarantined");
  CHECK(e->submit_update("bad", as_span(make_update("bad", "1", 0, 1, 0, filled(1.0f)))).status().code() ==
        Code::kPermissionDenied);
  REQUIRE(e->set_quarantine("bad", false, "").is_ok());
  CHECK(e->submit_update("bad", as_span(make_update("bad", "1", 0, 1, 0, filled(1.0f)))).is_ok());
  CHECK(e->agents()[0].state == "active");
}

TEST_CASE("telemetry duplicates are acknowledged but stored once", "[unit][engine]") {
  TempDir dir;
  auto e = open_engine(dir.path());
  TelemetryBatch b;
  b.agent_id = "a";
  for (int64_t s = 1; s <= 3; ++s) b.records.push_back({s, 1000 + s, "train", {{"loss", 0.5}}, {}});
  auto ack = e->submit_telemetry("a", b);
  REQUIRE(ack.is_ok());
  CHECK(ack->acked_through == 3);
  b.records.erase(b.records.begin());
  b.records.push_back({4, 1004, "train", {{"loss", 0.4}}, {}});
  ack = e->submit_telemetry("a", b);  // 2, 3 again and 4
  REQUIRE(ack.is_ok());
  CHECK(ack->acked_through == 4);
  CHECK(e->status().telemetry_records == 4);
  CHECK(e->submit_telemetry("b", b).status().code() == Code::kPermissionDenied);
  std::swap(b.records[0], b.records[1]);
  CHECK(e->submit_telemetry("a", b).status().code() == Code::kInvalidArgument);
}

namespace {
// Records the seqs of the telemetry the engine reports to its observer.
struct TelemetrySeqs : server::EngineObserver {
  std::vector<std::vector<int64_t>> batches;
  void on_update(const std::string&, std::span<const float>, double, const UpdateAck&) override {}
  void on_telemetry(const TelemetryBatch& stored) override {
    std::vector<int64_t> seqs;
    for (const auto& r : stored.records) seqs.push_back(r.seq);
    batches.push_back(seqs);
  }
  void decorate(ServerStatus&) const override {}
};

TelemetryBatch seqs(int64_t from, int64_t to) {
  TelemetryBatch b;
  b.agent_id = "a";
  for (int64_t s = from; s <= to; ++s) b.records.push_back({s, 1000 + s, "train", {{"loss", 0.5}}, {}});
  return b;
}
}  // namespace

TEST_CASE("observers see only the telemetry the store stored now, also after reopening", "[unit][engine]") {
  TempDir dir;
  using Seqs = std::vector<std::vector<int64_t>>;
  {
    auto e = open_engine(dir.path());
    auto seen = std::make_shared<TelemetrySeqs>();
    e->set_observer(seen);
    REQUIRE(e->submit_telemetry("a", seqs(1, 3)).is_ok());
    REQUIRE(e->submit_telemetry("a", seqs(2, 4)).is_ok());
    REQUIRE(e->submit_telemetry("a", seqs(1, 4)).is_ok());  // nothing new: not reported at all
    CHECK(seen->batches == Seqs{{1, 2, 3}, {4}});
    e->shutdown();
  }
  // A new process knows nothing but the store: records 1-4 (stored, ack
  // lost) sent again with 5 are reported as 5 alone.
  auto e = open_engine(dir.path());
  auto seen = std::make_shared<TelemetrySeqs>();
  e->set_observer(seen);
  auto ack = e->submit_telemetry("a", seqs(1, 5));
  REQUIRE(ack.is_ok());
  CHECK(ack->acked_through == 5);
  CHECK(seen->batches == Seqs{{5}});
  CHECK(e->status().telemetry_records == 5);
}

TEST_CASE("task_for hands out the configured plan for the current version", "[unit][engine]") {
  TempDir dir;
  auto e = open_engine(dir.path());
  auto t = e->task_for("agent-1");
  REQUIRE(t.is_ok());
  CHECK(t->agent_id == "agent-1");
  CHECK(t->model_version == 0);
  CHECK(t->layout_fingerprint == layout_of().fingerprint());
  CHECK(t->mode == edgefed::MergeMode::kAsync);
  CHECK(t->lr == 0.05);
  CHECK(t->momentum == 0.9);
  CHECK(t->batch_size == 32);
  CHECK(e->task_for("no spaces allowed").status().code() == Code::kInvalidArgument);
}

namespace {
// Records the updates the engine reports: their sizes and how far the norm
// handed over is from the delta's.
struct UpdateSeen : server::EngineObserver {
  std::mutex mu;
  std::vector<size_t> sizes;
  std::vector<double> norms2;
  void on_update(const std::string&, std::span<const float> delta, double norm2, const UpdateAck&) override {
    double n2 = 0;
    for (float v : delta) n2 += static_cast<double>(v) * v;
    std::lock_guard<std::mutex> lock(mu);
    sizes.push_back(delta.size());
    norms2.push_back(norm2 - n2);  // the norm handed over is the delta's
  }
  void on_telemetry(const TelemetryBatch&) override {}
  void decorate(ServerStatus&) const override {}
};
}  // namespace

TEST_CASE("submit_update_async answers once, refusals at once, the observer through defer before the answer",
          "[unit][engine]") {
  TempDir dir;
  auto e = open_engine(dir.path());
  auto seen = std::make_shared<UpdateSeen>();
  e->set_observer(seen);
  struct Call {
    std::promise<Result<UpdateAck>> answer;
    std::vector<std::function<void()>> deferred;  // filled before the answer
    int answers = 0;
  };
  auto submit = [&](Call& c, std::shared_ptr<const std::string> body) {
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(body->data()), body->size());
    e->submit_update_async(
        "a", bytes, body,
        [&c](Result<UpdateAck> ack) {
          ++c.answers;
          c.answer.set_value(std::move(ack));
        },
        [&c](std::function<void()> task) { c.deferred.push_back(std::move(task)); });
  };

  // Refused before it is queued: answered on this thread, before the call
  // returns; nothing observed.
  Call bad;
  submit(bad, std::make_shared<const std::string>(nan_update()));
  REQUIRE(bad.answers == 1);
  CHECK(bad.answer.get_future().get().status().code() == Code::kNonFinite);
  CHECK(bad.deferred.empty());

  // Accepted: answered once, later, with the observer handed to defer first;
  // the body is owned by the call (our copy is gone).
  Call good;
  auto body = std::make_shared<const std::string>(make_update("a", "u1", 0, 2, 0.5, filled(0.5f)));
  submit(good, body);
  body.reset();
  auto f = good.answer.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto ack = f.get();
  REQUIRE(ack.is_ok());
  CHECK_FALSE(ack->duplicate);
  CHECK(good.answers == 1);
  REQUIRE(good.deferred.size() == 1);
  CHECK(seen->sizes.empty());  // not before the deferred task runs
  good.deferred[0]();
  REQUIRE(seen->sizes.size() == 1);
  CHECK(seen->sizes[0] == filled(0.5f).size());
  CHECK(std::abs(seen->norms2[0]) < 1e-6);

  // The same update again: a duplicate, answered, not observed.
  Call again;
  submit(again, std::make_shared<const std::string>(make_update("a", "u1", 0, 2, 0.5, filled(0.5f))));
  auto g = again.answer.get_future();
  REQUIRE(g.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto dup = g.get();
  REQUIRE(dup.is_ok());
  CHECK(dup->duplicate);
  CHECK(again.deferred.empty());
  CHECK(e->status().updates_accepted == 1);
}
