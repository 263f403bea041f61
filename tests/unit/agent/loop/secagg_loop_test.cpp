// AgentLoop with secure aggregation against the fake server with scripted
// /v1/secagg routes: the round is stored before anything is sent, a
// refused server message aborts it (counted, never a crash) and the version
// is trained again, a full sync round ("round_full") is not asked again, a stale
// join (409) fetches the plan again, and a restarted agent resumes its
// stored round with the same keys instead of training a new one.
#include <cmath>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "edgefed/secagg/agent_id.hpp"
#include "loop_fixture.hpp"

namespace edgefed::agent::secagg_loop_test {

using edgefed::agent::testing::eventually;
using edgefed::agent::testing::FakeServerState;
using nlohmann::json;

HttpResponse json_answer(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

HttpResponse error_answer(Code code, const std::string& message) {
  HttpResponse r;
  r.status = http_status_for(code);
  r.body = error_body(Status(code, message));
  return r;
}

// The server's side of /v1/secagg/*, scripted. Runs with the fake
// server's mutex held: tests read it under FakeServerState::mu.
struct SecAggScript {
  int conflicts = 0;       // joins answered 409 first
  int accepted = 1;        // then joins answered with a session; later ones "round_full"
  int joins = 0;
  int task_gets = 0;
  int64_t vector_length = 0;
  std::vector<json> posted;              // agent -> server messages
  std::function<json(const SecAggScript&)> next;  // the answer to GET next

  std::optional<HttpResponse> handle(std::string_view method, std::string_view target, std::string_view body) {
    if (method == "GET" && target == "/v1/task") ++task_gets;
    if (method == "POST" && target == "/v1/secagg/join") {
      ++joins;
      if (joins <= conflicts) return error_answer(Code::kConflict, "sessions are for version 2, not 1");
      if (joins > conflicts + accepted)
        return json_answer(200, {{"type", "round_full"}, {"base_version", 1}, {"reason", "round 1 is full"}});
      const json j = json::parse(body);
      return json_answer(200, {{"session", "v1-s" + std::to_string(joins)},
                               {"base_version", j["base_version"]},
                               {"cohort_size", 4},
                               {"vector_length", vector_length},
                               {"clip", 1.0},
                               {"phase_timeout_s", 30}});
    }
    if (method == "POST" && target == "/v1/secagg/message") {
      posted.push_back(json::parse(body));
      return json_answer(202, {{"accepted", true}});
    }
    if (method == "GET" && target.rfind("/v1/secagg/next?session=", 0) == 0) return json_answer(200, next(*this));
    return std::nullopt;
  }
};

// A sync server on version 1 with secure aggregation and `script` for its routes.
void secure_server(FakeServerState& server, SecAggScript& script) {
  edgefed::agent::testing::init_server(server);
  server.mode = MergeMode::kSync;
  server.secure_aggregation = SecureAggregation::kSecAggPlus;
  script.vector_length = server.model.layout.size();
  server.handler = [&script](std::string_view m, std::string_view t, std::string_view b) {
    return script.handle(m, t, b);
  };
}

AgentConfig secagg_config(const std::string& dir) {
  AgentConfig c = edgefed::agent::testing::small_config(dir);
  c.secagg_poll_ms = 5;
  return c;
}

const json kWaitAdvertise = {{"type", "wait"}, {"phase", "advertise"}};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  in >> s;
  return s;
}

TEST_CASE("agent secure aggregation: a refused server message aborts the round; the version is trained again",
          "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  SecAggScript script;
  secure_server(server, script);
  // After the advertisement: a round_setup that is not one (no members).
  script.next = [](const SecAggScript& s) {
    return s.posted.empty() ? kWaitAdvertise : json{{"type", "round_setup"}, {"session", "v1-s1"}};
  };
  auto agent = AgentLoop::create(secagg_config(dir.path()), edgefed::agent::testing::small_seams(server));
  REQUIRE(agent.is_ok());
  AgentLoop& a = **agent;
  Status run_status;
  std::thread runner([&] { run_status = a.run(); });
  const bool aborted_and_rejoined = eventually([&] {
    std::lock_guard lock(server.mu);
    return a.snapshot().journal.secagg_rounds_aborted == 1 && script.joins == 2;
  });
  // The second join found the round full: not asked again for version 1.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  a.stop();
  runner.join();
  CHECK(aborted_and_rejoined);
  CHECK(run_status.is_ok());
  std::lock_guard lock(server.mu);
  CHECK(script.joins == 2);
  REQUIRE(script.posted.size() == 1);
  const json& advert = script.posted[0];
  CHECK(advert["type"] == "advertise_keys");
  CHECK(advert["session"] == "v1-s1");
  CHECK(advert["agent"] == secagg::agent_id_of("agent-1"));
  CHECK(advert["num_samples"].get<int64_t>() >= 1);
  const AgentSnapshot snap = a.snapshot();
  CHECK(snap.rounds == 1);  // trained once: no session took the second try
  CHECK(snap.journal.secagg_rounds_created == 1);
  CHECK(snap.journal.secagg_rounds_done == 0);
  CHECK_FALSE(a.outbox().secagg_round()->has_value());
  // No plain update, ever; the aborted version may be trained again.
  CHECK(snap.journal.updates_created == 0);
  CHECK(server.update_posts == 0);
  CHECK(read_text(dir.file("sync_version")) == "0");
}

TEST_CASE("agent secure aggregation: a stale join fetches the plan again before training", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  SecAggScript script;
  secure_server(server, script);
  script.conflicts = 1;
  script.next = [](const SecAggScript&) { return kWaitAdvertise; };
  auto agent = AgentLoop::create(secagg_config(dir.path()), edgefed::agent::testing::small_seams(server));
  REQUIRE(agent.is_ok());
  AgentLoop& a = **agent;
  Status run_status;
  std::thread runner([&] { run_status = a.run(); });
  const bool started = eventually([&] {
    std::lock_guard lock(server.mu);
    return script.posted.size() == 1;
  });
  a.stop();
  runner.join();
  CHECK(started);
  std::lock_guard lock(server.mu);
  CHECK(script.joins == 2);
  // The task came once for the plan and once more after the 409 (the
  // periodic refresh is 30 s away).
  CHECK(script.task_gets == 2);
  CHECK(a.snapshot().rounds == 1);
  auto stored = a.outbox().secagg_round();
  REQUIRE(stored.is_ok());
  REQUIRE(stored->has_value());
  CHECK((*stored)->session == "v1-s2");
  CHECK((*stored)->base_version == 1);
  CHECK(static_cast<int64_t>((*stored)->delta.size()) == script.vector_length);
}

TEST_CASE("agent secure aggregation: a restarted agent resumes its stored round with the same keys", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  SecAggScript script;
  secure_server(server, script);
  bool done = false;
  script.next = [&done](const SecAggScript&) {
    return done ? json{{"type", "done"}, {"survivors", 4}, {"version", 2}} : kWaitAdvertise;
  };
  {
    auto first = AgentLoop::create(secagg_config(dir.path()), edgefed::agent::testing::small_seams(server));
    REQUIRE(first.is_ok());
    std::thread runner([&] { (void)(*first)->run(); });
    const bool advertised = eventually([&] {
      std::lock_guard lock(server.mu);
      return script.posted.size() == 1;
    });
    (*first)->stop();
    runner.join();
    REQUIRE(advertised);
    CHECK((*first)->outbox().secagg_round()->has_value());
  }
  // The same state dir: the stored round, not a new one.
  auto second = AgentLoop::create(secagg_config(dir.path()), edgefed::agent::testing::small_seams(server));
  REQUIRE(second.is_ok());
  AgentLoop& a = **second;
  Status run_status;
  std::thread runner([&] { run_status = a.run(); });
  const bool readvertised = eventually([&] {
    std::lock_guard lock(server.mu);
    return script.posted.size() == 2;
  });
  {
    std::lock_guard lock(server.mu);
    done = true;
  }
  const bool ended = eventually([&] { return a.snapshot().journal.secagg_rounds_done == 1; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  a.stop();
  runner.join();
  CHECK(readvertised);
  CHECK(ended);
  CHECK(run_status.is_ok());
  std::lock_guard lock(server.mu);
  REQUIRE(script.posted.size() == 2);
  CHECK(script.posted[1] == script.posted[0]);  // the keys from the snapshot
  CHECK(script.joins == 1);
  const AgentSnapshot snap = a.snapshot();
  CHECK(snap.rounds == 0);  // sync: version 1 was this agent's, and it is done
  CHECK(snap.journal.secagg_rounds_created == 1);
  CHECK(snap.journal.secagg_rounds_aborted == 0);
  CHECK_FALSE(a.outbox().secagg_round()->has_value());
  CHECK(read_text(dir.file("sync_version")) == "1");
}

TEST_CASE("agent secure aggregation: the agent clips its delta and, with DP, advertises equal weight", "[unit]") {
  edgefed::testing::ScratchDir dir;
  FakeServerState server;
  SecAggScript script;
  secure_server(server, script);
  server.update_clip_norm = 0.01;  // far below a round's delta norm on this data
  server.dp_noise_multiplier = 0.5;
  script.next = [](const SecAggScript&) { return kWaitAdvertise; };
  auto agent = AgentLoop::create(secagg_config(dir.path()), edgefed::agent::testing::small_seams(server));
  REQUIRE(agent.is_ok());
  AgentLoop& a = **agent;
  std::thread runner([&] { (void)a.run(); });
  const bool advertised = eventually([&] {
    std::lock_guard lock(server.mu);
    return script.posted.size() == 1;
  });
  a.stop();
  runner.join();
  REQUIRE(advertised);
  std::lock_guard lock(server.mu);
  // DP-FedAvg weighs agents alike: the advertised sample count is 1.
  CHECK(script.posted[0]["num_samples"] == 1);
  auto stored = a.outbox().secagg_round();
  REQUIRE(stored.is_ok());
  REQUIRE(stored->has_value());
  double norm2 = 0;
  for (float x : (*stored)->delta) norm2 += double(x) * x;
  CHECK(std::sqrt(norm2) == Approx(0.01).epsilon(1e-4));  // clipped to the task's norm
  CHECK((*stored)->dp_sigma == Approx(0.5 * 0.01));       // z * C: each share is N(0, sigma^2 / t)
}

}  // namespace edgefed::agent::secagg_loop_test
