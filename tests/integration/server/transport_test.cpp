// Transport behaviour: keep-alive reconnects after the idle timeout, the
// connection limit, the plain-HTTP metrics listener, Expect: 100-continue.
#include <catch2/catch.hpp>

#include <thread>

#include "../../support/scratch_dir.hpp"
#include "metrics_text.hpp"
#include "server_process.hpp"

using namespace edgefed;
using namespace edgefed::testing;

TEST_CASE("keep-alive survives the server's idle timeout by reconnecting", "[integration][server]") {
  ScratchDir dir("edgefed-tr");
  ServerProcess server(fleet_pki(), dir.file("state"), {"--model-init", "mlp:16-8-4", "--idle-timeout", "1"});
  server.start();
  auto c = server.agent(0);
  for (int i = 0; i < 3; ++i) {
    auto r = c->get("/v1/task");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(c->connections_opened() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  auto r = c->get("/v1/task");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(c->connections_opened() == 2);
  CHECK(server.terminate() == 0);
}

TEST_CASE("connections beyond --max-connections are closed", "[integration][server]") {
  ScratchDir dir("edgefed-tr");
  ServerProcess server(fleet_pki(), dir.file("state"), {"--model-init", "mlp:16-8-4", "--max-connections", "2"});
  server.start();
  auto a = server.agent(0);
  auto b = server.agent(1);
  REQUIRE(a->connect().is_ok());
  REQUIRE(b->connect().is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto c = server.agent(2);
  auto refused = c->get("/v1/task");
  CHECK(!refused);
  a->close();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto ok = c->get("/v1/task");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  // /metrics on the HTTPS port needs the viewer or admin role: free a slot for the admin.
  b->close();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto metrics = server.admin()->get("/metrics");
  REQUIRE(metrics);
  // The series exists at 0 from start-up: the refusal must have counted.
  CHECK(metric_value(metric_samples(metrics->body),
                     R"(edgefed_http_connections_refused_total{reason="max_connections"})") >= 1);
  CHECK(server.terminate() == 0);
}

TEST_CASE("the metrics listener (--metrics-listen) serves /metrics over plain HTTP and nothing else", "[integration][server]") {
  ScratchDir dir("edgefed-tr");
  ServerProcess server(fleet_pki(), dir.file("state"), {"--model-init", "mlp:16-8-4", "--metrics-listen", "127.0.0.1:0"});
  server.start();
  const uint16_t port = server.metrics_port();
  REQUIRE(port != 0);
  const auto metrics = plain_get(port, "/metrics");
  CHECK(metrics.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(metrics.find("edgefed_http_connections") != std::string::npos);
  CHECK(plain_get(port, "/healthz").rfind("HTTP/1.1 200", 0) == 0);
  CHECK(plain_get(port, "/v1/model").rfind("HTTP/1.1 404", 0) == 0);
  CHECK(server.terminate() == 0);
}

TEST_CASE("Expect: 100-continue gets an interim answer before the body", "[integration][server]") {
  ScratchDir dir("edgefed-tr");
  ServerProcess server(fleet_pki(), dir.file("state"), {"--model-init", "mlp:16-8-4"});
  server.start();
  auto c = server.agent(0);
  auto r = c->post("/v1/telemetry",
                   R"({"agent_id":"agent-000","records":[{"seq":1,"ts_ms":1,"kind":"train","values":{"loss":1}}]})",
                   "application/json", {{"Expect", "100-continue"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(server.terminate() == 0);
}
