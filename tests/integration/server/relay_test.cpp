// Site relays (issue 20, docs/relays.md): a central edgefed-server and two
// relays (edgefed-server --upstream, each reaching the central server
// through a TCP proxy that can cut its uplink), all real binaries over TLS
// on 127.0.0.1. Agents post one-hot updates with distinct sample counts to
// the relays, never to the central server.
//  - Request reduction and exact weights: with --relay-k 5, 20 agent
//    updates reach the central server as 4 updates; each carries the sum of
//    its agents' samples as num_samples, and the central model moved every
//    agent's coordinate by exactly n_i / (the samples of its batch): what a
//    central buffer of the same 5 updates would have done (FedAvg weights
//    n_i / sum n).
//  - The relays serve the central model: after the central server merged,
//    each relay's /v1/model is the central version, byte for byte.
//  - A cut uplink loses nothing: with relay A's uplink cut, its agents'
//    updates are acknowledged by the relay; the relay is SIGKILLed and
//    restarted while cut (it starts from its store); once the uplink is back
//    the batch arrives, once: the central ledger holds every batch exactly
//    once and every agent update moved the model exactly once.
//  - A relay refuses a robust aggregator with a clear reason.
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../../support/scratch_dir.hpp"
#include "server_process.hpp"
#include "sqlite_rows.hpp"
#include "tcp_fault_proxy.hpp"
#include "test_updates.hpp"

namespace edgefed::testing::relay_test {

using edgefed::sim::TcpFaultProxy;

constexpr int kRelayK = 5;

std::vector<std::string> relay_flags(const Pki& pki, uint16_t upstream_port, int relay_agent,
                                     const std::string& adopt = "every") {
  return {"--upstream", "https://127.0.0.1:" + std::to_string(upstream_port), "--upstream-ca", pki.ca(),
          "--upstream-cert", pki.agent_cert(relay_agent), "--upstream-key", pki.agent_key(relay_agent),
          "--relay-k", std::to_string(kRelayK), "--relay-flush", "60", "--relay-adopt", adopt,
          "--model-init", "mlp:64-64-10", "--store-connect-timeout", "2", "--rate-limit", "0"};
}

int64_t served_version(const ServerProcess& s, std::string* body = nullptr) {
  auto c = s.agent(0);
  auto r = c->get("/v1/model");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  if (body) *body = r->body;
  return std::stoll(*r->header("X-Model-Version"));
}

int64_t central_accepted(const ServerProcess& central) {
  auto c = central.admin();
  auto s = c->get("/v1/status");
  REQUIRE(s);
  return nlohmann::json::parse(s->body)["updates_accepted"].get<int64_t>();
}

// Posts agent i's one-hot update (n_i = i + 1 samples) to a relay; 202.
void post_one_hot(const ServerProcess& relay, const ModelLayout& layout, int agent, int slot, int64_t base) {
  std::vector<float> delta(static_cast<size_t>(layout.size()), 0.0f);
  delta[static_cast<size_t>(agent * 8 + slot)] = 1.0f;
  auto c = relay.agent(agent);
  auto r = c->post("/v1/updates",
                   make_update(layout, Pki::agent_id(agent), "u-" + std::to_string(slot), base, agent + 1, delta));
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 202);
}

TEST_CASE("site relays: K updates per upstream request, exact weights, the central model served, a cut uplink "
          "loses nothing",
          "[integration][relay]") {
  ScratchDir dir("edgefed-relay");
  const Pki& pki = fleet_pki();
  ServerProcess central(pki, dir.file("central"),
                        {"--mode", "async", "--buffer-k", "1", "--buffer-timeout", "0", "--server-lr", "1",
                         "--staleness-fn", "constant", "--max-staleness", "1000", "--model-init", "mlp:64-64-10",
                         "--rate-limit", "0"});
  central.start();
  TcpFaultProxy uplink_a(central.port());
  TcpFaultProxy uplink_b(central.port());
  // The relays' identities at the central server: agent-020 and agent-021.
  ServerProcess relay_a(pki, dir.file("relay-a"), relay_flags(pki, uplink_a.port(), 20));
  ServerProcess relay_b(pki, dir.file("relay-b"), relay_flags(pki, uplink_b.port(), 21));
  relay_a.start();
  relay_b.start();

  std::string central_body, relay_body;
  const int64_t v0 = served_version(central, &central_body);
  CHECK(served_version(relay_a, &relay_body) == v0);
  CHECK(relay_body == central_body);  // the central model, byte for byte
  const DecodedModel initial = decode_model_or_throw(central_body);
  const ModelLayout layout = initial.model.layout;

  // 20 agent updates: agents 0-9 through relay A, 10-19 through relay B.
  for (int i = 0; i < 20; ++i) post_one_hot(i < 10 ? relay_a : relay_b, layout, i, 0, v0);
  // 4 upstream updates (K = 5), each its own central version (buffer 1).
  for (int t = 0; t < 200 && central_accepted(central) < 4; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(central_accepted(central) == 4);
  const int64_t v4 = v0 + 4;
  for (int t = 0; t < 200 && served_version(central) < v4; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(served_version(central, &central_body) == v4);
  // The relays follow the central version (long poll).
  for (auto* relay : {&relay_a, &relay_b}) {
    int64_t v = -1;
    for (int t = 0; t < 200 && v < v4; ++t) {
      v = served_version(*relay, &relay_body);
      if (v < v4) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(v == v4);
    CHECK(relay_body == central_body);
  }

  // Relay A's uplink goes down; its agents go on.
  uplink_a.cut();
  for (int i = 0; i < 5; ++i) post_one_hot(relay_a, layout, i, 1, v4);  // acknowledged by the relay
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(central_accepted(central) == 4);
  // SIGKILL the relay while cut, start it again: from its store.
  relay_a.kill9();
  relay_a.start();
  CHECK(served_version(relay_a) == v4);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(central_accepted(central) == 4);
  // Still cut, and the relay knows it (its model poll fails at once): 12
  // more updates are held and leave as one partial sum, not 3 of K. (The 5
  // from before the SIGKILL left as a chunk of K, or, if the restarted
  // relay saw the cut first, joined the 12: one sum of 17.)
  for (int i = 0; i < 12; ++i) post_one_hot(relay_a, layout, i % 10, 2 + i / 10, v4);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  uplink_a.restore();
  auto relay_a_done = [&] {
    SqliteRows rdb(dir.file("relay-a") + "/edgefed.sqlite");
    return rdb.rows("SELECT count(*) FROM ledger WHERE consumed_by_version IS NULL")[0][0] == "0" &&
           rdb.rows("SELECT count(*) FROM relay_batches WHERE result = ''")[0][0] == "0";
  };
  for (int t = 0; t < 800 && !relay_a_done(); ++t) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int64_t accepted = central_accepted(central);
  {
    INFO("relay A's log:\n" << relay_a.log());
    CHECK((accepted == 5 || accepted == 6));
  }
  const int64_t v_end = v0 + accepted;
  for (int t = 0; t < 200 && served_version(central) < v_end; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(served_version(central, &central_body) == v_end);
  const DecodedModel merged = decode_model_or_throw(central_body);

  // Refused at start: a robust aggregator at a relay.
  {
    auto flags = relay_flags(pki, uplink_b.port(), 22);
    flags.insert(flags.end(), {"--aggregator", "median"});
    ServerProcess robust(pki, dir.file("relay-robust"), flags);
    const std::string error = robust.start_error();
    CHECK_THAT(error, Catch::Contains("--aggregator median") && Catch::Contains("relay"));
  }

  CHECK(relay_a.terminate() == 0);
  CHECK(relay_b.terminate() == 0);
  CHECK(central.terminate() == 0);

  // The central ledger: 5 or 6 updates, from the two relays, each once,
  // weighted by its agents' samples; the last one holds the 12 of the cut
  // (n_i = agent + 1: agents 0-9, then 0 and 1: 58), or those and the 5
  // from before the SIGKILL (15 more).
  SqliteRows cdb(dir.file("central") + "/edgefed.sqlite");
  const auto rows = cdb.rows("SELECT agent, update_id, num_samples, weight, consumed_by_version FROM ledger ORDER BY id");
  REQUIRE(static_cast<int64_t>(rows.size()) == accepted);
  CHECK(rows.back()[2] == (accepted == 6 ? "58" : "73"));
  std::map<std::string, double> batch_samples;  // relay agent id + update_id -> samples
  for (const auto& r : rows) {
    CHECK((r[0] == Pki::agent_id(20) || r[0] == Pki::agent_id(21)));
    CHECK(std::stod(r[2]) == std::stod(r[3]));  // weight = samples x s(tau) with s = 1
    CHECK(r[4] != "NULL");
    batch_samples[r[0] + "/" + r[1]] = std::stod(r[2]);
  }
  // Each relay's batches: every agent update in exactly one, accepted.
  int64_t forwarded = 0, wrong = 0;
  for (const std::string relay : {"relay-a", "relay-b"}) {
    SqliteRows rdb(dir.file(relay) + "/edgefed.sqlite");
    const std::string relay_agent = Pki::agent_id(relay == "relay-a" ? 20 : 21);
    for (const auto& b : rdb.rows("SELECT update_id, updates, samples, ledger_ids, result FROM relay_batches")) {
      CHECK((b[4] == "accepted" || b[4] == "duplicate"));
      const std::string key = relay_agent + "/" + b[0];
      REQUIRE(batch_samples.count(key) == 1);
      CHECK(std::stod(b[2]) == batch_samples[key]);
      for (const auto& id : nlohmann::json::parse(b[3])) {
        const auto row = rdb.rows("SELECT agent, update_id, num_samples, consumed_by_version FROM ledger WHERE id = " +
                                  std::to_string(id.get<int64_t>()));
        REQUIRE(row.size() == 1);
        CHECK(row[0][3] == "-2");  // forwarded
        const int agent = std::stoi(row[0][0].substr(row[0][0].rfind('-') + 1));
        const int slot = std::stoi(row[0][1].substr(2));
        const size_t idx = static_cast<size_t>(agent * 8 + slot);
        const double moved = static_cast<double>(merged.model.params[idx]) - initial.model.params[idx];
        // FedAvg inside the batch (n_i / sum n), the batch alone in its version.
        if (std::abs(moved - std::stod(row[0][2]) / std::stod(b[2])) > 1e-5) ++wrong;
        ++forwarded;
      }
    }
    // Nothing left behind.
    CHECK(rdb.rows("SELECT count(*) FROM ledger WHERE consumed_by_version IS NULL")[0][0] == "0");
  }
  CHECK(forwarded == 37);
  CHECK(wrong == 0);
}

TEST_CASE("a paced relay hands its agents a newer central version only once K updates came in, and the central "
          "task",
          "[integration][relay]") {
  ScratchDir dir("edgefed-relay-paced");
  const Pki& pki = fleet_pki();
  // The central task differs from the relay's own --task-* defaults
  // (1 epoch, whole epochs, batch 32, lr 0.05, f32).
  ServerProcess central(pki, dir.file("central"),
                        {"--mode", "async", "--buffer-k", "1", "--buffer-timeout", "0", "--model-init", "mlp:64-64-10",
                         "--rate-limit", "0", "--task-epochs", "3", "--task-steps", "7", "--task-batch-size", "16",
                         "--task-lr", "0.02", "--task-encoding", "f16"});
  central.start();
  ServerProcess relay(pki, dir.file("relay"), relay_flags(pki, central.port(), 20, "paced"));
  relay.start();
  {
    // The relay's agents get the central task's training fields, with the
    // relay's own version; the relay fetches it as it starts following.
    nlohmann::json task;
    for (int t = 0; t < 100; ++t) {
      auto r = relay.agent(3)->get("/v1/task");
      REQUIRE(r);
      REQUIRE(r->status == 200);
      task = nlohmann::json::parse(r->body);
      if (task["epochs"] == 3) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(task.dump());
    CHECK(task["epochs"] == 3);
    CHECK(task["steps"] == 7);
    CHECK(task["batch_size"] == 16);
    CHECK(task["lr"].get<double>() == Approx(0.02));
    CHECK(task["encoding"] == "f16");
    CHECK(task["agent_id"] == Pki::agent_id(3));
    CHECK(task["model_version"] == served_version(relay));
  }
  const DecodedModel initial = [&] {
    std::string body;
    served_version(central, &body);
    return decode_model_or_throw(body);
  }();
  const ModelLayout layout = initial.model.layout;
  const int64_t v0 = served_version(relay);
  auto wait_for = [](auto&& done) {
    for (int t = 0; t < 300 && !done(); ++t) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return done();
  };
  // K updates: one partial sum, central v0 + 1, and the relay takes it.
  for (int i = 0; i < kRelayK; ++i) post_one_hot(relay, layout, i, 0, v0);
  REQUIRE(wait_for([&] { return served_version(relay) == v0 + 1; }));
  // Two more, then the central server moves on without the relay (an
  // agent of its own): the relay keeps v0 + 1, 2 < K updates since.
  for (int i = 0; i < 2; ++i) post_one_hot(relay, layout, i, 1, v0 + 1);
  {
    std::vector<float> delta(static_cast<size_t>(layout.size()), 0.0f);
    delta[100] = 1.0f;
    auto c = central.agent(22);
    auto r = c->post("/v1/updates", make_update(layout, Pki::agent_id(22), "direct", v0 + 1, 1, delta));
    REQUIRE(r);
    REQUIRE(r->status == 202);
  }
  REQUIRE(wait_for([&] { return served_version(central) == v0 + 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(served_version(relay) == v0 + 1);
  // Three more (K since it took v0 + 1): their sum leaves (central v0 + 3),
  // and the relay takes the newest central version there is then (v0 + 2
  // or v0 + 3, whichever its poll finds).
  for (int i = 2; i < kRelayK; ++i) post_one_hot(relay, layout, i, 1, v0 + 1);
  CHECK(wait_for([&] { return served_version(central) == v0 + 3; }));
  CHECK(wait_for([&] { return served_version(relay) >= v0 + 2; }));
  CHECK(relay.terminate() == 0);
  CHECK(central.terminate() == 0);
}

}  // namespace edgefed::testing::relay_test
