// Model pull + update push round trips against the real server: ETag and
// 304, idempotent retries, exact FedBuff and FedAvg arithmetic observed by
// pulling the merged model, long polls.
#include <catch2/catch.hpp>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "../../support/scratch_dir.hpp"
#include "server_process.hpp"
#include "test_updates.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

DecodedModel pull(HttpsClient& c, int64_t* version = nullptr) {
  auto r = c.get("/v1/model");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  if (version) *version = std::stoll(*r->header("X-Model-Version"));
  return decode_model_or_throw(r->body);
}

// Polls the model until its version reaches `version` (<= 20 s).
DecodedModel pull_version(HttpsClient& c, int64_t version) {
  for (int i = 0; i < 400; ++i) {
    int64_t v = 0;
    auto m = pull(c, &v);
    if (v >= version) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("model version " << version << " not reached");
  return {};
}

nlohmann::json json_of(const HttpResponse& r) { return nlohmann::json::parse(r.body); }

}  // namespace

TEST_CASE("model pull and update push round trip, ETag, idempotent retry", "[integration][server]") {
  ScratchDir dir("edgefed-srv");
  ServerProcess server(fleet_pki(), dir.file("state"),
                       {"--mode", "async", "--buffer-k", "2", "--server-lr", "1", "--staleness-fn", "constant",
                        "--model-init", "mlp:16-8-4", "--buffer-timeout", "0"});
  server.start();
  auto agent = server.agent(0);

  auto r = agent->get("/v1/model");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  REQUIRE(r->header("ETag"));
  REQUIRE(r->header("X-Model-Version"));
  CHECK(*r->header("X-Model-Version") == "0");
  const auto model = decode_model_or_throw(r->body);
  CHECK(model.model.layout.describe() == "mlp:16-8-4");

  SECTION("If-None-Match with the current ETag gives 304 on the same connection") {
    auto again = agent->get("/v1/model", {{"If-None-Match", *r->header("ETag")}});
    REQUIRE(again);
    CHECK(again->status == 304);
    CHECK(again->body.empty());
    CHECK(agent->connections_opened() == 1);
  }

  SECTION("FedBuff: two updates merge into num_samples-weighted mean, retries are idempotent") {
    const auto& layout = model.model.layout;
    auto a1 = agent->post("/v1/updates", make_update(layout, Pki::agent_id(0), "u-1", 0, 1, 1.0f));
    REQUIRE(a1);
    REQUIRE(a1->status == 202);
    const auto ack1 = json_of(*a1);
    CHECK(ack1["staleness"] == 0);
    CHECK(ack1["weight"].get<double>() == Approx(1.0));

    // The same update_id again: same answer, flagged duplicate, not merged twice.
    auto retry = agent->post("/v1/updates", make_update(layout, Pki::agent_id(0), "u-1", 0, 1, 1.0f));
    REQUIRE(retry);
    CHECK(retry->status == 202);
    CHECK(json_of(*retry)["version"] == ack1["version"]);
    CHECK(json_of(*retry)["duplicate"] == true);

    auto agent1 = server.agent(1);
    auto a2 = agent1->post("/v1/updates", make_update(layout, Pki::agent_id(1), "u-1", 0, 3, 2.0f));
    REQUIRE(a2);
    REQUIRE(a2->status == 202);

    const auto merged = pull_version(*agent, 1);
    // new = old + lr * (1 * 1.0 + 3 * 2.0) / 4 = old + 1.75, exactly.
    REQUIRE(merged.model.params.size() == model.model.params.size());
    for (size_t i = 0; i < merged.model.params.size(); ++i)
      REQUIRE(merged.model.params[i] == Approx(model.model.params[i] + 1.75f).margin(1e-6));

    // A retry after the merge still answers the original ack.
    auto late = agent->post("/v1/updates", make_update(layout, Pki::agent_id(0), "u-1", 0, 1, 1.0f));
    REQUIRE(late);
    CHECK(late->status == 202);
    CHECK(json_of(*late)["version"] == ack1["version"]);
    int64_t v = 0;
    pull(*agent, &v);
    CHECK(v == 1);
  }

  SECTION("task, status, healthz, readyz, metrics") {
    auto task = agent->get("/v1/task");
    REQUIRE(task);
    CHECK(task->status == 200);
    CHECK(json_of(*task)["agent_id"] == Pki::agent_id(0));
    // The status routes and /metrics on the HTTPS port need the viewer or
    // admin role (tests/security/access_test.cpp has the whole table).
    auto viewer = HttpsClient::create(server.viewer_options());
    REQUIRE(viewer);
    auto status = (*viewer)->get("/v1/status");
    REQUIRE(status);
    CHECK(status->status == 200);
    CHECK(json_of(*status)["mode"] == "async");
    for (const char* path : {"/healthz", "/readyz"}) {
      auto h = agent->get(path);
      REQUIRE(h);
      CHECK(h->status == 200);
    }
    auto metrics = (*viewer)->get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
    CHECK(metrics->body.find("edgefed_http_requests_total") != std::string::npos);
    auto index = (*viewer)->get("/");
    REQUIRE(index);
    CHECK(index->status == 200);
  }
  CHECK(server.terminate() == 0);
}

TEST_CASE("sync FedAvg round closes at min_updates with the weighted mean", "[integration][server]") {
  ScratchDir dir("edgefed-srv");
  ServerProcess server(fleet_pki(), dir.file("state"),
                       {"--mode", "sync", "--min-updates", "3", "--server-lr", "1", "--round-timeout", "0",
                        "--model-init", "mlp:16-8-4"});
  server.start();
  auto a0 = server.agent(0);
  const auto model = pull(*a0);
  const auto& layout = model.model.layout;
  const std::vector<std::pair<int64_t, float>> inputs = {{1, 1.0f}, {1, 2.0f}, {2, 4.0f}};
  for (int i = 0; i < 3; ++i) {
    auto c = server.agent(i);
    auto r = c->post("/v1/updates", make_update(layout, Pki::agent_id(i), "round-0", 0, inputs[i].first,
                                                inputs[i].second));
    REQUIRE(r);
    REQUIRE(r->status == 202);
  }
  // (1*1 + 1*2 + 2*4) / 4 = 2.75
  const auto merged = pull_version(*a0, 1);
  for (size_t i = 0; i < merged.model.params.size(); ++i)
    REQUIRE(merged.model.params[i] == Approx(model.model.params[i] + 2.75f).margin(1e-6));
  CHECK(server.terminate() == 0);
}

TEST_CASE("long poll answers with the next version, or 304 when the wait ends", "[integration][server]") {
  ScratchDir dir("edgefed-srv");
  ServerProcess server(fleet_pki(), dir.file("state"),
                       {"--buffer-k", "1", "--model-init", "mlp:16-8-4", "--staleness-fn", "constant"});
  server.start();
  auto a0 = server.agent(0);
  const auto model = pull(*a0);

  auto timeout = a0->get("/v1/model?wait=1&after=0");
  REQUIRE(timeout);
  CHECK(timeout->status == 304);

  auto waiter = std::async(std::launch::async, [&] {
    auto c = server.agent(1);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c->get("/v1/model?wait=20&after=0");
    return std::make_pair(std::move(r), std::chrono::steady_clock::now() - t0);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto push = a0->post("/v1/updates", make_update(model.model.layout, Pki::agent_id(0), "lp-1", 0, 1, 0.5f));
  REQUIRE(push);
  REQUIRE(push->status == 202);
  auto [r, took] = waiter.get();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(*r->header("X-Model-Version") == "1");
  CHECK(took < std::chrono::seconds(10));
  CHECK(server.terminate() == 0);
}
