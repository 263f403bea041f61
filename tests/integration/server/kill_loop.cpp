// The SIGKILL durability loop (crash_test.cpp with SQLite,
// postgres_store_test.cpp with PostgreSQL): 20 concurrent agents push
// updates and telemetry while the server is killed at random points and
// restarted. Each agent retries an unanswered request with the same
// update_id / seq (as the real agent does) until it gets an answer, so at
// the end everything sent was acknowledged. Then, from the server's
// database (read through `open_rows`) and the merged model:
//  - every acknowledged update is in the ledger once and consumed by a
//    version that exists, and each version merged exactly the rows that name
//    it (no update merged twice, none lost);
//  - the merged model moved each update's one-hot coordinate by exactly
//    lr * w / total_weight of the version that consumed it (a double merge
//    would show twice that);
//  - every acknowledged telemetry record is stored exactly once.
#include "kill_loop.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "server_process.hpp"
#include "test_updates.hpp"

namespace edgefed::testing::kill_loop {

namespace {

constexpr int kClients = 20;
constexpr int kSlots = 240;  // updates per client at most; 20 x 240 <= 4810 parameters

struct ClientResult {
  std::vector<int> acked;        // update numbers acknowledged (202)
  int64_t telemetry_acked = 0;   // acked_through
  int retries = 0;
  std::string failure;
};

}  // namespace

void run(const std::string& state, const std::vector<std::string>& store_flags,
         const std::function<SqlRows()>& open_rows) {
  std::vector<std::string> flags = {"--model-init", "mlp:64-64-10", "--buffer-k", "1", "--buffer-timeout", "0",
                                    "--server-lr", "1", "--staleness-fn", "constant", "--max-staleness", "1000000",
                                    "--rate-limit", "0", "--group-commit-max", "16"};
  flags.insert(flags.end(), store_flags.begin(), store_flags.end());
  ServerProcess server(fleet_pki(), state, flags);
  server.start();
  DecodedModel initial;
  {
    auto c = server.agent(0);
    auto r = c->get("/v1/model");
    REQUIRE(r);
    initial = decode_model_or_throw(r->body);
  }
  const ModelLayout layout = initial.model.layout;
  REQUIRE(layout.size() >= kClients * kSlots);

  std::atomic<uint16_t> port{server.port()};
  std::atomic<bool> stop_sending{false};
  std::atomic<bool> abandon{false};  // the kill loop failed: clients give up at once
  std::vector<ClientResult> results(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      ClientResult& res = results[i];
      std::unique_ptr<HttpsClient> client;
      uint16_t client_port = 0;
      // Sends until answered (any HTTP status), reconnecting to the current port.
      auto send = [&](const std::string& target, const std::string& body, const char* type) -> HttpResponse {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
        while (std::chrono::steady_clock::now() < deadline) {
          if (abandon.load()) throw std::runtime_error("abandoned: the server did not restart");
          if (!client || client_port != port.load()) {
            HttpsClientOptions o = server.agent_options(i);
            client_port = port.load();
            o.port = client_port;
            o.request_timeout = std::chrono::milliseconds(10000);
            o.connect_timeout = std::chrono::milliseconds(2000);
            auto c = HttpsClient::create(o);
            if (!c) throw std::runtime_error(c.status().to_string());
            client = std::move(c).value();
          }
          auto r = client->post(target, body, type);
          if (r && r->status != 503) return std::move(r).value();
          ++res.retries;
          client.reset();
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw std::runtime_error("no answer for 90 s");
      };
      try {
        int64_t seq = 0;
        for (int j = 0; j < kSlots && !stop_sending.load(); ++j) {
          std::vector<float> delta(static_cast<size_t>(layout.size()), 0.0f);
          delta[static_cast<size_t>(i * kSlots + j)] = 1.0f;
          const auto body = make_update(layout, Pki::agent_id(i), "u-" + std::to_string(j), 0, 1, delta);
          const auto r = send("/v1/updates", body, "application/octet-stream");
          if (r.status != 202) throw std::runtime_error("update answered " + std::to_string(r.status) + " " + r.body);
          res.acked.push_back(j);

          nlohmann::json batch{{"agent_id", Pki::agent_id(i)}, {"records", nlohmann::json::array()}};
          for (int k = 0; k < 3; ++k)
            batch["records"].push_back({{"seq", ++seq}, {"ts_ms", 1000 + seq}, {"kind", "train"},
                                        {"values", {{"loss", 0.25}}}});
          const auto t = send("/v1/telemetry", batch.dump(), "application/json");
          if (t.status != 200) throw std::runtime_error("telemetry answered " + std::to_string(t.status));
          res.telemetry_acked = nlohmann::json::parse(t.body)["acked_through"].get<int64_t>();
        }
      } catch (const std::exception& e) {
        res.failure = e.what();
      }
    });
  }

  std::mt19937 rng(Catch::rngSeed());
  std::uniform_int_distribution<int> pause_ms(300, 1500);
  constexpr int kKills = 4;
  // A failed restart must end the test with its reason (the server log), not
  // std::terminate on joinable client threads.
  std::string restart_failure;
  try {
    for (int k = 0; k < kKills; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
      server.kill9();
      server.start();
      port = server.port();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  } catch (const std::exception& e) {
    restart_failure = e.what();
    abandon = true;
  }
  stop_sending = true;
  for (auto& t : threads) t.join();
  INFO(restart_failure);
  REQUIRE(restart_failure.empty());

  int64_t acked_updates = 0, acked_telemetry = 0, retries = 0;
  for (int i = 0; i < kClients; ++i) {
    INFO("client " << i);
    CHECK(results[i].failure.empty());
    acked_updates += static_cast<int64_t>(results[i].acked.size());
    acked_telemetry += results[i].telemetry_acked;
    retries += results[i].retries;
  }
  REQUIRE(acked_updates > 0);

  // Everything acknowledged is merged eventually (K = 1): wait, then stop.
  auto c = server.admin();
  nlohmann::json status;
  for (int i = 0; i < 300; ++i) {
    auto s = c->get("/v1/status");
    REQUIRE(s);
    status = nlohmann::json::parse(s->body);
    if (status["updates_merged"].get<int64_t>() >= acked_updates) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto final_model = c->get("/v1/model");
  REQUIRE(final_model);
  const auto merged = decode_model_or_throw(final_model->body);
  CHECK(server.terminate() == 0);

  const SqlRows rows = open_rows();
  std::map<int64_t, double> version_weight;
  for (const auto& row : rows("SELECT version, total_weight FROM versions WHERE kind = 'merge'"))
    version_weight[std::stoll(row[0])] = std::stod(row[1]);
  // Rows merged per version must match the version's own count.
  for (const auto& row : rows("SELECT v.version, v.num_updates, "
                                 "(SELECT COUNT(*) FROM ledger l WHERE l.consumed_by_version = v.version) "
                                 "FROM versions v WHERE v.kind = 'merge'")) {
    INFO("version " << row[0]);
    CHECK(row[1] == row[2]);
  }
  std::map<std::pair<std::string, std::string>, int64_t> consumed;
  for (const auto& row : rows("SELECT agent, update_id, COALESCE(consumed_by_version, 0) FROM ledger"))
    consumed[{row[0], row[1]}] = std::stoll(row[2]);

  int64_t lost = 0, unmerged = 0, wrong_amount = 0;
  for (int i = 0; i < kClients; ++i) {
    for (int j : results[i].acked) {
      auto it = consumed.find({Pki::agent_id(i), "u-" + std::to_string(j)});
      if (it == consumed.end()) {
        ++lost;
        continue;
      }
      if (it->second <= 0 || !version_weight.count(it->second)) {
        ++unmerged;
        continue;
      }
      const size_t idx = static_cast<size_t>(i * kSlots + j);
      const double moved = static_cast<double>(merged.model.params[idx]) - initial.model.params[idx];
      const double expected = 1.0 / version_weight[it->second];
      if (std::abs(moved - expected) > 1e-4) ++wrong_amount;
    }
  }
  int64_t telemetry_missing = 0;
  for (int i = 0; i < kClients; ++i) {
    const auto stored = rows("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM telemetry WHERE agent = '" +
                             Pki::agent_id(i) + "' AND seq <= " + std::to_string(results[i].telemetry_acked));
    if (std::stoll(stored[0][0]) != results[i].telemetry_acked) telemetry_missing += 1;
  }
  const auto telemetry_total = std::stoll(rows("SELECT COUNT(*) FROM telemetry")[0][0]);
  WARN("SIGKILL test: " << kKills << " kills, " << acked_updates << " updates acked, " << retries
                        << " retries, lost " << lost << ", unmerged " << unmerged << ", wrong amount "
                        << wrong_amount << "; telemetry acked " << acked_telemetry << ", stored "
                        << telemetry_total);
  CHECK(lost == 0);
  CHECK(unmerged == 0);
  CHECK(wrong_amount == 0);
  CHECK(telemetry_missing == 0);
  CHECK(telemetry_total == acked_telemetry);
}

}  // namespace edgefed::testing::kill_loop
