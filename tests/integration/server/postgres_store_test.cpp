// edgefed-server --store postgresql://... against a real PostgreSQL server
// (tests/support/postgres_instance.hpp, never a mock): versions, their
// checkpoints, the update ledger and the agents live in the database, not
// in --state-dir. A server SIGKILLed after acknowledging updates and
// started again on an EMPTY state directory serves the same version,
// answers a retried update_id as a duplicate, replays the pending update
// from the database and merges it with the next one exactly. A database
// crash (SIGKILL) during ingest: updates get 503 + Retry-After while it is
// down, the server reloads its state once it is back and takes the retried
// update; the ledger then holds every acknowledged update once. Refusals at
// start, each with its one-line reason: a --store that is neither sqlite
// nor a PostgreSQL URI, a password in the URI, and a database that stays
// unreachable for --store-connect-timeout. And the SIGKILL durability loop
// of crash_test.cpp (kill_loop.cpp), read back from PostgreSQL.
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../../support/scratch_dir.hpp"
#include "postgres_instance.hpp"
#include "kill_loop.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/postgres/pg_store.hpp"
#include "server_process.hpp"
#include "test_updates.hpp"

namespace edgefed::testing::postgres_store_test {

std::string uri_of(const PostgresInstance& pg) {
  return "postgresql://" + pg.user() + "@127.0.0.1:" + std::to_string(pg.port()) + "/" + pg.database();
}

std::vector<std::string> server_flags(const PostgresInstance& pg) {
  return {"--store", uri_of(pg), "--store-password-file", pg.password_file(), "--mode", "async",
          "--buffer-k", "2", "--server-lr", "1", "--staleness-fn", "constant", "--model-init", "mlp:16-8-4",
          "--buffer-timeout", "0"};
}

DecodedModel pull(HttpsClient& c, int64_t* version) {
  auto r = c.get("/v1/model");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  *version = std::stoll(*r->header("X-Model-Version"));
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

nlohmann::json post_update(HttpsClient& c, const ModelLayout& layout, int agent, const std::string& id,
                           int64_t base, int64_t samples, float value) {
  auto r = c.post("/v1/updates", make_update(layout, Pki::agent_id(agent), id, base, samples, value));
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 202);
  return nlohmann::json::parse(r->body);
}

TEST_CASE("edgefed-server --store postgresql: the state lives in the database, a restart elsewhere resumes it",
          "[integration][postgres]") {
  PostgresInstance pg;
  ScratchDir dir("edgefed-pg-srv");
  std::vector<float> v1;
  {
    ServerProcess server(fleet_pki(), dir.file("state-a"), server_flags(pg));
    server.start();
    CHECK(server.log().find("postgresql") != std::string::npos);  // engine_open names the store
    auto a0 = server.agent(0);
    auto a1 = server.agent(1);
    int64_t v = -1;
    const auto m0 = pull(*a0, &v);
    REQUIRE(v == 0);
    const auto& layout = m0.model.layout;
    post_update(*a0, layout, 0, "u-1", 0, 1, 1.0f);
    post_update(*a1, layout, 1, "u-1", 0, 3, 2.0f);
    const auto m1 = pull_version(*a0, 1);
    // new = old + lr * (1 * 1.0 + 3 * 2.0) / 4 = old + 1.75
    for (size_t i = 0; i < m1.model.params.size(); ++i)
      REQUIRE(m1.model.params[i] == Approx(m0.model.params[i] + 1.75f).margin(1e-6));
    v1 = m1.model.params;
    // Acknowledged, buffered (pending in the ledger), then the crash.
    CHECK(post_update(*a0, layout, 0, "u-2", 1, 1, 0.5f)["duplicate"] == false);
    server.kill9();
  }
  // Another state directory, empty: everything comes from PostgreSQL.
  ServerProcess server(fleet_pki(), dir.file("state-b"), server_flags(pg));
  server.start();
  auto a0 = server.agent(0);
  auto a1 = server.agent(1);
  int64_t v = -1;
  const auto m1 = pull(*a0, &v);
  CHECK(v == 1);
  REQUIRE(m1.model.params == v1);
  const auto& layout = m1.model.layout;
  // The retry of the acknowledged update is a duplicate, not a second copy.
  CHECK(post_update(*a0, layout, 0, "u-2", 1, 1, 0.5f)["duplicate"] == true);
  // The pending u-2 was replayed from the ledger: with u-3 it fills the buffer.
  CHECK(post_update(*a1, layout, 1, "u-3", 1, 1, -1.5f)["duplicate"] == false);
  const auto m2 = pull_version(*a0, 2);
  for (size_t i = 0; i < m2.model.params.size(); ++i)
    REQUIRE(m2.model.params[i] == Approx(v1[i] + (0.5f - 1.5f) / 2).margin(1e-6));
  REQUIRE(server.terminate() == 0);

  // The database's own account: 4 updates accepted, each merged once.
  auto store = server::PgStore::open(pg.socket_conninfo());
  REQUIRE(store);
  CHECK(*(*store)->ledger().count_accepted() == 4);
  CHECK(*(*store)->ledger().count_merged() == 4);
  CHECK(*(*store)->versions().updates_claimed() == 4);
  auto newest = (*store)->versions().newest();
  REQUIRE(newest);
  REQUIRE(newest->has_value());
  CHECK((*newest)->version == 2);
  CHECK_FALSE(std::filesystem::exists(dir.file("state-b") + "/edgefed.sqlite"));
}

TEST_CASE("edgefed-server --store postgresql: a database crash during ingest is 503 + Retry-After, then it resumes",
          "[integration][postgres]") {
  PostgresInstance pg;
  ScratchDir dir("edgefed-pg-crash");
  std::vector<std::string> flags = server_flags(pg);
  flags[7] = "4";  // --buffer-k 4
  ServerProcess server(fleet_pki(), dir.file("state"), flags);
  server.start();
  auto agent = server.agent(0);
  int64_t v = -1;
  const auto m0 = pull(*agent, &v);
  const auto& layout = m0.model.layout;
  auto push = [&](const std::string& id) {
    return agent->post("/v1/updates", make_update(layout, Pki::agent_id(0), id, 0, 1, 0.25f));
  };
  for (int i = 0; i < 6; ++i) post_update(*agent, layout, 0, "u-" + std::to_string(i), 0, 1, 0.25f);

  pg.kill();  // SIGKILL: the postmaster and its backends, mid-session
  // While it is down: refused with 503 and Retry-After, never acknowledged.
  for (int i = 0; i < 3; ++i) {
    auto r = push("u-6");
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 503);
    CHECK(r->header("Retry-After") != nullptr);
  }
  pg.restart();  // crash recovery, then it accepts connections again
  // The server reloads its state (at most once a second) and takes the
  // same update again: the agent's retry.
  int status = 0;
  for (int i = 0; i < 100 && status != 202; ++i) {
    auto r = push("u-6");
    REQUIRE(r);
    status = r->status;
    if (status != 202) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(status == 202);
  post_update(*agent, layout, 0, "u-7", 0, 1, 0.25f);
  pull_version(*agent, 2);  // 8 updates, buffers of 4
  CHECK(server.log().find("state_reloaded") != std::string::npos);
  REQUIRE(server.terminate() == 0);

  auto store = server::PgStore::open(pg.socket_conninfo());
  REQUIRE(store);
  auto ids = (*store)->ledger().update_ids_of(Pki::agent_id(0));
  REQUIRE(ids);
  CHECK(*ids == std::vector<std::string>{"u-0", "u-1", "u-2", "u-3", "u-4", "u-5", "u-6", "u-7"});
  CHECK(*(*store)->ledger().count_merged() == 8);
  CHECK(*(*store)->versions().updates_claimed() == 8);
}

TEST_CASE("edgefed-server --store postgresql: SIGKILL at random points loses no acknowledged update or telemetry",
          "[integration][postgres][crash]") {
  PostgresInstance pg;
  ScratchDir dir("edgefed-pg-kill");
  kill_loop::run(dir.file("state"), {"--store", uri_of(pg), "--store-password-file", pg.password_file()}, [&] {
    auto conn = server::PgConnection::connect(pg.socket_conninfo());
    REQUIRE(conn);
    auto shared = std::make_shared<server::PgConnection>(std::move(conn).value());
    return kill_loop::SqlRows([shared](const std::string& sql) {
      auto r = shared->query(sql);
      if (!r) throw std::runtime_error(r.status().to_string());
      std::vector<std::vector<std::string>> out;
      for (int i = 0; i < r->rows(); ++i) {
        std::vector<std::string> row;
        for (int j = 0; j < r->columns(); ++j) row.emplace_back(r->is_null(i, j) ? "NULL" : r->get_text(i, j));
        out.push_back(std::move(row));
      }
      return out;
    });
  });
}

TEST_CASE("edgefed-server --store: a bad location, a password in the URI, an unreachable database are refused",
          "[integration][postgres]") {
  ScratchDir dir("edgefed-pg-bad");
  SECTION("neither sqlite nor postgresql://") {
    ServerProcess server(fleet_pki(), dir.file("s1"), {"--store", "mysql://db/edgefed"});
    const std::string error = server.start_error();
    CHECK(error.find("--store must be sqlite or a postgresql:// URI") != std::string::npos);
  }
  SECTION("a password in the URI") {
    ServerProcess server(fleet_pki(), dir.file("s2"), {"--store", "postgresql://edgefed:hunter2@127.0.0.1/edgefed"});
    const std::string error = server.start_error();
    CHECK(error.find("no password in the URI") != std::string::npos);
  }
  SECTION("a database nobody listens on: retried, then refused with the reason") {
    // A port that was just free: nothing listens there.
    std::string uri;
    {
      PostgresInstance pg;
      uri = uri_of(pg);
    }
    ServerProcess server(fleet_pki(), dir.file("s3"), {"--store", uri, "--store-connect-timeout", "1"});
    const auto started = std::chrono::steady_clock::now();
    const std::string error = server.start_error();
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(900));
    CHECK_FALSE(error.empty());
    CHECK(error.find("store_unreachable") != std::string::npos);  // the retries are logged
  }
}

}  // namespace edgefed::testing::postgres_store_test
