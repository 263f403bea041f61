// Three edgefed-server replicas on one real PostgreSQL server (issue 20,
// docs/replicas.md). Agents push updates to the replicas, moving to another
// one (as through a Kubernetes Service) with the same update_id whenever
// theirs does not answer. Meanwhile the leader (the replica that merges, as
// /v1/status says) is SIGKILLed 10 times and restarted; each time the test
// measures how long until a surviving replica says it leads. Then, from the
// database and the merged model:
//  - failover took under 10 s every time;
//  - every acknowledged update is in the ledger once, consumed by a version
//    that exists, each version merged exactly the rows that name it, and
//    the model moved each update's one-hot coordinate by exactly
//    1 / (the version's total weight): nothing lost, nothing merged twice;
//  - versions run 0..N without a gap or a duplicate, each merge's parent
//    the version before it;
//  - every replica serves the newest version within its poll.
// And the refusals: a replica started with another model or merge option
// than the live ones exits with the differing keys; one started while the
// database is unreachable waits, then joins.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../../support/scratch_dir.hpp"
#include "postgres_instance.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server_process.hpp"
#include "test_updates.hpp"

namespace edgefed::testing::replicas_test {

constexpr int kReplicas = 3;
constexpr int kClients = 12;
constexpr int kSlots = 300;  // updates per client at most; 12 x 300 <= 4810 parameters
constexpr int kLeaderKills = 10;

std::string replica_uri(const PostgresInstance& pg) {
  return "postgresql://" + pg.user() + "@127.0.0.1:" + std::to_string(pg.port()) + "/" + pg.database();
}

std::vector<std::string> replica_flags(const PostgresInstance& pg, int i) {
  return {"--store", replica_uri(pg), "--store-password-file", pg.password_file(), "--replica-name",
          "replica-" + std::to_string(i), "--replica-poll", "0.1", "--model-init", "mlp:64-64-10", "--buffer-k",
          "4", "--buffer-timeout", "1", "--server-lr", "1", "--staleness-fn", "constant", "--max-staleness",
          "1000000", "--rate-limit", "0", "--group-commit-max", "16"};
}

// /v1/status of a replica, or null if it does not answer.
nlohmann::json replica_status(const ServerProcess& s) {
  if (!s.running()) return nullptr;
  HttpsClientOptions o = s.admin_options();
  o.request_timeout = std::chrono::milliseconds(2000);
  o.connect_timeout = std::chrono::milliseconds(1000);
  auto c = HttpsClient::create(o);
  if (!c) return nullptr;
  auto r = (*c)->get("/v1/status");
  if (!r || r->status != 200) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

// The replica whose status says it leads; -1 if none does now.
int find_leader(const std::vector<std::unique_ptr<ServerProcess>>& replicas) {
  for (int i = 0; i < kReplicas; ++i) {
    const auto s = replica_status(*replicas[i]);
    if (s.is_object() && s.contains("replica") && s["replica"]["leader"].get<bool>()) return i;
  }
  return -1;
}

std::vector<std::vector<std::string>> sql_rows(server::PgConnection& conn, const std::string& sql) {
  auto r = conn.query(sql);
  if (!r) throw std::runtime_error(r.status().to_string());
  std::vector<std::vector<std::string>> out;
  for (int i = 0; i < r->rows(); ++i) {
    std::vector<std::string> row;
    for (int j = 0; j < r->columns(); ++j) row.emplace_back(r->is_null(i, j) ? "NULL" : r->get_text(i, j));
    out.push_back(std::move(row));
  }
  return out;
}

struct ClientResult {
  std::vector<int> acked;  // update numbers acknowledged (202)
  int moves = 0;           // times it went to another replica
  std::string failure;
};


TEST_CASE("edgefed-server replicas: 10 leader SIGKILLs during ingest: failover < 10 s, nothing lost or merged twice",
          "[integration][postgres][replicas]") {
  PostgresInstance pg;
  ScratchDir dir("edgefed-replicas");
  std::vector<std::unique_ptr<ServerProcess>> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.push_back(std::make_unique<ServerProcess>(fleet_pki(), dir.file("r" + std::to_string(i)),
                                                       replica_flags(pg, i)));
    replicas.back()->start();
  }
  int leader = -1;
  for (int t = 0; t < 100 && leader < 0; ++t) {
    leader = find_leader(replicas);
    if (leader < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(leader >= 0);
  DecodedModel initial;
  {
    auto c = replicas[0]->agent(0);
    auto r = c->get("/v1/model");
    REQUIRE(r);
    initial = decode_model_or_throw(r->body);
  }
  const ModelLayout layout = initial.model.layout;
  REQUIRE(layout.size() >= kClients * kSlots);

  std::vector<std::atomic<uint16_t>> ports(kReplicas);
  for (int i = 0; i < kReplicas; ++i) ports[i] = replicas[i]->port();
  std::atomic<bool> stop_sending{false};
  std::atomic<bool> abandon{false};
  std::vector<ClientResult> results(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      ClientResult& res = results[i];
      int target = i % kReplicas;
      std::unique_ptr<HttpsClient> client;
      uint16_t client_port = 0;
      try {
        for (int j = 0; j < kSlots && !stop_sending.load(); ++j) {
          std::vector<float> delta(static_cast<size_t>(layout.size()), 0.0f);
          delta[static_cast<size_t>(i * kSlots + j)] = 1.0f;
          const auto body = make_update(layout, Pki::agent_id(i), "u-" + std::to_string(j), 0, 1, delta);
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
          for (;;) {
            if (abandon.load()) throw std::runtime_error("abandoned");
            if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("no answer for 60 s");
            if (!client || client_port != ports[target].load()) {
              HttpsClientOptions o = replicas[0]->agent_options(i);
              client_port = ports[target].load();
              o.port = client_port;
              o.request_timeout = std::chrono::milliseconds(5000);
              o.connect_timeout = std::chrono::milliseconds(1000);
              auto c = HttpsClient::create(o);
              if (!c) throw std::runtime_error(c.status().to_string());
              client = std::move(c).value();
            }
            auto r = client->post("/v1/updates", body, "application/octet-stream");
            if (r && r->status == 202) break;
            if (r && r->status != 503) {
              throw std::runtime_error("update answered " + std::to_string(r->status) + " " + r->body);
            }
            // No answer, or 503: the same update to the next replica.
            client.reset();
            target = (target + 1) % kReplicas;
            ++res.moves;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
          res.acked.push_back(j);
          // Paced, so that ingest goes on through all the kills.
          std::this_thread::sleep_for(std::chrono::milliseconds(60));
        }
      } catch (const std::exception& e) {
        res.failure = e.what();
      }
    });
  }

  std::mt19937 rng(Catch::rngSeed());
  std::uniform_int_distribution<int> pause_ms(800, 2000);
  std::vector<double> failover_s;
  std::string kill_failure;
  try {
    for (int k = 0; k < kLeaderKills; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
      leader = find_leader(replicas);
      if (leader < 0) throw std::runtime_error("no replica leads before kill " + std::to_string(k));
      replicas[leader]->kill9();
      const auto killed_at = std::chrono::steady_clock::now();
      int next = -1;
      while (next < 0 && std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(30)) {
        next = find_leader(replicas);
        if (next < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (next < 0) throw std::runtime_error("no replica took over within 30 s after kill " + std::to_string(k));
      failover_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count());
      replicas[leader]->start();
      ports[leader] = replicas[leader]->port();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  } catch (const std::exception& e) {
    kill_failure = e.what();
    abandon = true;
  }
  stop_sending = true;
  for (auto& t : threads) t.join();
  INFO(kill_failure);
  REQUIRE(kill_failure.empty());

  int64_t acked = 0, moves = 0;
  for (int i = 0; i < kClients; ++i) {
    INFO("client " << i);
    CHECK(results[i].failure.empty());
    acked += static_cast<int64_t>(results[i].acked.size());
    moves += results[i].moves;
  }
  REQUIRE(acked > 0);

  auto conn = edgefed::server::PgConnection::connect(pg.socket_conninfo());
  REQUIRE(conn);
  // Everything acknowledged is merged (--buffer-timeout 1 closes the rest).
  for (int t = 0; t < 300; ++t) {
    if (sql_rows(*conn, "SELECT count(*) FROM ledger WHERE consumed_by_version IS NULL")[0][0] == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int64_t newest = std::stoll(sql_rows(*conn, "SELECT max(version) FROM versions")[0][0]);
  // Every replica serves the newest version within its poll (0.1 s here).
  DecodedModel merged;
  for (int i = 0; i < kReplicas; ++i) {
    INFO("replica " << i);
    int64_t served = -1;
    auto c = replicas[i]->agent(0);
    for (int t = 0; t < 50 && served < newest; ++t) {
      auto r = c->get("/v1/model");
      REQUIRE(r);
      served = std::stoll(*r->header("X-Model-Version"));
      if (served >= newest) merged = decode_model_or_throw(r->body);
      else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(served == newest);
  }
  const int live_leaders = [&] {
    int n = 0;
    for (int i = 0; i < kReplicas; ++i) {
      const auto s = replica_status(*replicas[i]);
      if (s.is_object() && s["replica"]["leader"].get<bool>()) ++n;
    }
    return n;
  }();
  CHECK(live_leaders == 1);
  for (auto& r : replicas) CHECK(r->terminate() == 0);

  // Versions: 0..newest, each once, each merge's parent the one before.
  const auto versions = sql_rows(*conn, "SELECT version, COALESCE(parent, -1), kind, num_updates, total_weight, "
                                        "(SELECT count(*) FROM ledger l WHERE l.consumed_by_version = v.version) "
                                        "FROM versions v ORDER BY version");
  REQUIRE(static_cast<int64_t>(versions.size()) == newest + 1);
  std::map<int64_t, double> weight_of;
  int64_t gaps = 0, wrong_parent = 0, wrong_count = 0;
  for (size_t i = 0; i < versions.size(); ++i) {
    const int64_t v = std::stoll(versions[i][0]);
    if (v != static_cast<int64_t>(i)) ++gaps;
    if (versions[i][2] == "merge") {
      if (std::stoll(versions[i][1]) != v - 1) ++wrong_parent;
      if (versions[i][3] != versions[i][5]) ++wrong_count;
      weight_of[v] = std::stod(versions[i][4]);
    }
  }
  std::map<std::pair<std::string, std::string>, int64_t> consumed;
  for (const auto& row : sql_rows(*conn, "SELECT agent, update_id, COALESCE(consumed_by_version, -2) FROM ledger"))
    consumed[{row[0], row[1]}] = std::stoll(row[2]);
  int64_t lost = 0, unmerged = 0, wrong_amount = 0;
  for (int i = 0; i < kClients; ++i) {
    for (int j : results[i].acked) {
      auto it = consumed.find({Pki::agent_id(i), "u-" + std::to_string(j)});
      if (it == consumed.end()) {
        ++lost;
        continue;
      }
      if (!weight_of.count(it->second)) {
        ++unmerged;
        continue;
      }
      // Merged twice would move it twice as far.
      const size_t idx = static_cast<size_t>(i * kSlots + j);
      const double moved = static_cast<double>(merged.model.params[idx]) - initial.model.params[idx];
      if (std::abs(moved - 1.0 / weight_of[it->second]) > 1e-4) ++wrong_amount;
    }
  }
  const int64_t ledger_rows = std::stoll(sql_rows(*conn, "SELECT count(*) FROM ledger")[0][0]);
  const int64_t claimed = std::stoll(sql_rows(*conn, "SELECT COALESCE(sum(num_updates), 0) FROM versions")[0][0]);
  std::sort(failover_s.begin(), failover_s.end());
  WARN("replicas failover: " << kLeaderKills << " leader kills, failover s min " << failover_s.front() << " median "
                             << failover_s[failover_s.size() / 2] << " max " << failover_s.back() << "; " << acked
                             << " updates acked, " << moves << " moves to another replica, " << newest
                             << " versions; lost " << lost << ", unmerged " << unmerged << ", wrong amount "
                             << wrong_amount << ", gaps " << gaps);
  CHECK(failover_s.back() < 10.0);
  CHECK(lost == 0);
  CHECK(unmerged == 0);
  CHECK(wrong_amount == 0);
  CHECK(gaps == 0);
  CHECK(wrong_parent == 0);
  CHECK(wrong_count == 0);
  CHECK(ledger_rows == acked);   // each update stored once, whichever replicas it reached
  CHECK(claimed == acked);       // and merged once
}

TEST_CASE("edgefed-server replicas: another model or merge option than the live replicas' is refused",
          "[integration][postgres][replicas]") {
  PostgresInstance pg;
  ScratchDir dir("edgefed-replicas-config");
  ServerProcess first(fleet_pki(), dir.file("r0"), replica_flags(pg, 0));
  first.start();
  auto other_model = replica_flags(pg, 1);
  *std::find(other_model.begin(), other_model.end(), "mlp:64-64-10") = "mlp:16-8-4";
  *(std::find(other_model.begin(), other_model.end(), "--buffer-k") + 1) = "8";
  ServerProcess second(fleet_pki(), dir.file("r1"), other_model);
  const std::string error = second.start_error();
  CHECK_THAT(error, Catch::Contains("replica-0") && Catch::Contains("another configuration") &&
                        Catch::Contains("model_init") && Catch::Contains("buffer_k"));
  // The same configuration under another name joins and follows.
  ServerProcess third(fleet_pki(), dir.file("r2"), replica_flags(pg, 2));
  third.start();
  nlohmann::json s;
  for (int t = 0; t < 50; ++t) {  // the first ticks: within a poll or two
    s = replica_status(third);
    if (s.is_object() && s["replica"]["live_replicas"].get<int64_t>() == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(s.is_object());
  CHECK_FALSE(s["replica"]["leader"].get<bool>());
  CHECK(s["replica"]["leader_name"] == "replica-0");
  CHECK(s["replica"]["name"] == "replica-2");
  CHECK(s["replica"]["live_replicas"].get<int64_t>() == 2);
  CHECK(third.terminate() == 0);
  CHECK(first.terminate() == 0);
  // With no live replica left, the other configuration may take over the
  // database (what an operator changing it does: stop all, start anew).
  second.start();
  CHECK(second.terminate() == 0);
}

}  // namespace edgefed::testing::replicas_test
