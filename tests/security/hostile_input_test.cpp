// Hostile and broken input (issue 9) against the real binary over TLS:
// oversized headers, a 2 GB Content-Length, chunked bodies that never end,
// malformed framing, unknown routes and methods, path tricks against the
// status page, malformed JSON and safetensors bodies, NaN/Inf. After each
// the server still answers an honest agent; at the end it exits cleanly
// (under ASan/LSan: no leak). Complements tests/integration/server.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "../integration/server/test_updates.hpp"
#include "../support/scratch_dir.hpp"
#include "raw_tls.hpp"
#include "security_pki.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

std::string post_head(const std::string& path, const std::string& extra) {
  return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

std::string u64le(uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}
std::string safetensors(const std::string& header, const std::string& data) {
  return u64le(header.size()) + header + data;
}

}  // namespace

TEST_CASE("hostile input: framing, routes, paths, bodies", "[security]") {
  ScratchDir dir("edgefed-sec");
  ServerProcess server(security_pki(), dir.file("state"),
                       {"--model-init", "mlp:16-8-4", "--body-timeout", "3", "--header-timeout", "3",
                        "--json-body-limit", "65536", "--header-limit", "8192", "--rate-limit", "0",
                        "--buffer-k", "1000"});
  server.start();
  const uint16_t port = server.port();
  auto honest = server.agent(0);
  auto served = [&] {
    auto r = honest->get("/v1/task");
    return r && r->status == 200;
  };
  REQUIRE(served());

  SECTION("a header over the limit: many small fields or one long request line, 413") {
    std::string many;
    for (int i = 0; i < 400; ++i) many += "X-F" + std::to_string(i) + ": " + std::string(30, 'v') + "\r\n";
    CHECK(status_of(exchange(port, agent_tls(1), "GET /v1/task HTTP/1.1\r\nHost: x\r\n" + many + "\r\n")) == 413);
    const std::string line = "GET /v1/task?" + std::string(20000, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(status_of(exchange(port, agent_tls(1), line)) == 413);
  }

  SECTION("Content-Length of 2 GB: 413 at once, without reading the body; 401 before that without a cert") {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string head = post_head("/v1/updates", "Content-Length: 2147483648\r\n");
    const std::string r = exchange(port, agent_tls(1), head);
    CHECK(status_of(r) == 413);
    CHECK(r.find("payload_too_large") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
    RawTlsOptions anon{security_pki().ca(), "", ""};
    CHECK(status_of(exchange(port, anon, head)) == 401);
    CHECK(status_of(exchange(port, agent_tls(1), post_head("/v1/telemetry", "Content-Length: 2147483648\r\n"))) ==
          413);
  }

  SECTION("a chunked body that never ends, fast: 413 at the JSON limit") {
    RawTls c;
    REQUIRE(c.connect(port, agent_tls(1)));
    REQUIRE(c.write(post_head("/v1/telemetry", "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n")));
    const std::string chunk = "1000\r\n" + std::string(4096, ' ') + "\r\n";
    bool refused = false;
    for (int i = 0; i < 200 && !refused; ++i) refused = !c.write(chunk);
    const std::string r = c.read_response();
    CHECK(status_of(r) == 413);
  }

  SECTION("a chunked body that never ends, slowly: dropped at the body deadline") {
    RawTls c;
    REQUIRE(c.connect(port, agent_tls(1)));
    REQUIRE(c.write(post_head("/v1/telemetry", "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n")));
    const auto t0 = std::chrono::steady_clock::now();
    bool dropped = false;
    while (!dropped && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
      dropped = !c.write("1\r\n \r\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(dropped);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(8));
  }

  SECTION("malformed framing: 400, never a crash") {
    static constexpr char kNulTarget[] = "GET /v1/\0task HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string cases[] = {
        post_head("/v1/telemetry", "Content-Length: -1\r\n"),
        post_head("/v1/telemetry", "Content-Length: abc\r\n"),
        post_head("/v1/telemetry", "Content-Length: 99999999999999999999999\r\n"),
        post_head("/v1/telemetry", "Content-Length: 5\r\nContent-Length: 6\r\n") + "hello",
        post_head("/v1/telemetry", "Transfer-Encoding: chunked\r\n") + "zz\r\nhello\r\n0\r\n\r\n",
        post_head("/v1/telemetry", "Transfer-Encoding: chunked\r\n") + "ffffffffffffffffff\r\n",
        "GET /v1/task HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET /v1/task\r\n\r\n",
        "\x16\x03\x01garbage\r\n\r\n",
        std::string(kNulTarget, sizeof kNulTarget - 1),
        "GET /v1/task HTTP/1.1\r\nHost x\r\n\r\n",
        "GET /v1/task HTTP/1.1\r\n: empty-name\r\n\r\n",
    };
    for (const auto& req : cases) {
      INFO(nlohmann::json(std::string(req)).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
      const int s = status_of(exchange(port, agent_tls(1), req));
      CHECK(((s >= 400 && s < 500) || s == 0));
      CHECK(s != 0);
    }
  }

  SECTION("unknown routes 404 and unknown methods 405/400, JSON errors") {
    for (const char* path : {"/v2/model", "/v1/models", "/v1/admin", "/v1/admin/agents/agent-001/delete", "/x"}) {
      auto r = honest->get(path);
      REQUIRE(r);
      INFO(path);
      CHECK(r->status == 404);
      CHECK(r->body.find("\"error\"") != std::string::npos);
    }
    for (const char* method : {"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "HEAD", "PROPFIND", "BREW"}) {
      const std::string r = exchange(port, agent_tls(1), std::string(method) + " /v1/updates HTTP/1.1\r\nHost: x\r\n\r\n");
      INFO(method);
      const int s = status_of(r);
      CHECK((s == 405 || s == 400));
    }
  }

  SECTION("`..` and encoded path tricks against the status page: 404 or 400, nothing from the disk") {
    const char* targets[] = {
        "/../../../../etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
        "/%252e%252e/etc/passwd", "/v1/status/../../../etc/passwd", "/./v1/status", "//etc/passwd",
        "/index.html", "/static/../../etc/passwd", "/%00", "/v1/status%00.json", "/..\\..\\etc\\passwd",
        "/%c0%ae%c0%ae/etc/passwd", "http://localhost/etc/passwd", "*", "etc/passwd", "/v1/%73tatus",
        "/metrics/../../etc/shadow", "/?file=../../etc/passwd/../"};
    for (const char* t : targets) {
      const std::string r = exchange(port, agent_tls(1), std::string("GET ") + t + " HTTP/1.1\r\nHost: x\r\n\r\n");
      INFO(t);
      const int s = status_of(r);
      CHECK(s != 0);
      CHECK((s == 404 || s == 400 || s == 403));
      CHECK(r.find("root:") == std::string::npos);
      CHECK(r.find("PRIVATE KEY") == std::string::npos);
      // Only the status page itself ("/" with a query) is a route, and it
      // needs the viewer or admin role: 403 for this agent.
      if (s == 403) CHECK(std::string(t).rfind("/?", 0) == 0);
    }
  }

  SECTION("malformed JSON bodies: 400") {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    const std::string bodies[] = {
        "", "{", "}", "null", "[]", "\"x\"", "1e999999", "{\"agent_id\":", "\xff\xfe{}",
        "{\"agent_id\":\"agent-001\",\"records\":\"x\"}",
        "{\"agent_id\":\"agent-001\",\"records\":[{\"seq\":-1,\"ts_ms\":1,\"kind\":\"train\",\"values\":{}}]}",
        "{\"agent_id\":\"agent-001\",\"records\":[{\"seq\":1e400}]}",
        "{\"agent_id\":\"agent-001\",\"records\":[{\"seq\":1,\"ts_ms\":1,\"kind\":\"train\",\"values\":{\"l\":\"x\"}}]}",
        "{\"agent_id\":\"agent-001\",\"records\":[]}{}", deep,
        "{\"agent_id\":\"agent-001\",\"agent_id\":\"agent-001\",\"records\":[null]}"};
    auto c = server.agent(1);
    for (const auto& b : bodies) {
      auto r = c->post("/v1/telemetry", b, "application/json");
      REQUIRE(r);
      INFO(b.substr(0, 80));
      CHECK((r->status == 400 || r->status == 413 || r->status == 422));
    }
    auto admin = server.admin();
    for (const char* path : {"/v1/admin/model/init", "/v1/admin/rollback", "/v1/admin/agents/agent-001/quarantine"}) {
      auto r = admin->post(path, "{\"layout\": [1,2", "application/json");
      REQUIRE(r);
      INFO(path);
      CHECK(r->status == 400);
    }
  }

  SECTION("malformed safetensors bodies: 400/413/422, never 202") {
    auto m = honest->get("/v1/model");
    REQUIRE(m);
    const auto layout = decode_model_or_throw(m->body).model.layout;
    const std::string good = make_update(layout, Pki::agent_id(1), "st-good", 0, 1, 0.1f);
    const std::string bodies[] = {
        "", "1234567", u64le(0), u64le(~0ull) + "{}", u64le(1ull << 40) + "{}", u64le(100) + "{}",
        safetensors("[]", ""), safetensors("{\"a\":1}", ""),
        safetensors(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "12345678"),
        safetensors(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", "12345678"),
        safetensors(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", "12345678"),
        safetensors(R"({"w":{"dtype":"X9","shape":[2],"data_offsets":[0,8]}})", "12345678"),
        safetensors(R"({"__metadata__":{"agent_id":"agent-001"}})", ""),
        good.substr(0, good.size() / 2), good.substr(0, 12), good + "trailing"};
    auto c = server.agent(1);
    for (const auto& b : bodies) {
      auto r = c->post("/v1/updates", b);
      REQUIRE(r);
      INFO(b.size() << " bytes, answered " << r->status << " " << r->body);
      // 413: a header length beyond the body (the claim alone is refused).
      CHECK((r->status == 400 || r->status == 413 || r->status == 422));
    }
  }

  SECTION("NaN, +Inf, -Inf in an update: 422 non_finite") {
    auto m = honest->get("/v1/model");
    REQUIRE(m);
    const auto layout = decode_model_or_throw(m->body).model.layout;
    const uint32_t bad[] = {0x7fc00000u, 0x7f800000u, 0xff800000u, 0x7f800001u};  // NaN, +Inf, -Inf, sNaN
    auto c = server.agent(1);
    int n = 0;
    for (uint32_t bits : bad) {
      const std::string id = "nf-" + std::to_string(n++);
      std::string body = make_update(layout, Pki::agent_id(1), id, 0, 1, 0.01f);
      // The data section ends the body: poison its last value.
      std::memcpy(body.data() + body.size() - 4, &bits, 4);
      auto r = c->post("/v1/updates", body);
      REQUIRE(r);
      CHECK(r->status == 422);
      CHECK(r->body.find("non_finite") != std::string::npos);
    }
  }

  CHECK(served());
  auto s = server.admin()->get("/v1/status");
  REQUIRE(s);
  CHECK(nlohmann::json::parse(s->body)["updates_accepted"] == 0);
  CHECK(server.terminate() == 0);
}
