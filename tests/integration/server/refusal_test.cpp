// Everything the server must refuse, each against the real binary over TLS:
// TLS 1.2, missing or foreign client certificates, identity mismatch, limits
// (body, header, slow client, rate), bad payloads, staleness, quarantine,
// unknown routes, admin access.
#include <catch2/catch.hpp>

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "../../support/scratch_dir.hpp"
#include "edgefed/tls.hpp"
#include "server_process.hpp"
#include "test_updates.hpp"

using namespace edgefed;
using namespace edgefed::testing;
namespace net = boost::asio;

namespace {

std::string code_of(const HttpResponse& r) {
  return nlohmann::json::parse(r.body)["error"]["code"].get<std::string>();
}

// A raw TLS stream, for clients our HttpsClient refuses to be.
struct RawTls {
  net::io_context ioc;
  net::ssl::context ctx;
  net::ssl::stream<net::ip::tcp::socket> stream;
  RawTls(net::ssl::context c, uint16_t port) : ctx(std::move(c)), stream(ioc, ctx) {
    net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    stream.next_layer().connect(ep);
  }
};

}  // namespace

TEST_CASE("transport refusals", "[integration][server]") {
  ScratchDir dir("edgefed-srv");
  ServerProcess server(fleet_pki(), dir.file("state"),
                       {"--model-init", "mlp:16-8-4", "--max-body", "100000", "--header-timeout", "2",
                        "--buffer-k", "100"});
  server.start();

  SECTION("a TLS 1.2 client is refused at the handshake") {
    net::ssl::context ctx(net::ssl::context::tls_client);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.load_verify_file(fleet_pki().ca());
    RawTls raw(std::move(ctx), server.port());
    boost::system::error_code ec;
    raw.stream.handshake(net::ssl::stream_base::client, ec);
    CHECK(ec);
  }

  SECTION("no client certificate: public calls work, agent calls are 401") {
    auto c = HttpsClient::create(server.anonymous_options());
    REQUIRE(c);
    auto health = (*c)->get("/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
    for (const char* path : {"/v1/model", "/v1/task"}) {
      auto r = (*c)->get(path);
      REQUIRE(r);
      CHECK(r->status == 401);
      CHECK(code_of(*r) == "unauthenticated");
    }
    auto post = (*c)->post("/v1/updates", "x");
    REQUIRE(post);
    CHECK(post->status == 401);
  }

  SECTION("a certificate from another CA gets no answer") {
    HttpsClientOptions o = server.anonymous_options();
    o.tls.cert_file = foreign_pki().agent_cert(0);
    o.tls.key_file = foreign_pki().agent_key(0);
    auto c = HttpsClient::create(o);
    REQUIRE(c);
    auto r = (*c)->get("/v1/model");
    CHECK(!r);
  }

  SECTION("unknown route 404, wrong method 405, both JSON") {
    auto c = server.agent(0);
    auto r = c->get("/v1/nothing/../model");
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(code_of(*r) == "not_found");
    auto m = c->request("DELETE", "/v1/model");
    REQUIRE(m);
    CHECK(m->status == 405);
    CHECK(code_of(*m) == "method_not_allowed");
    REQUIRE(m->header("Allow"));
  }

  SECTION("oversized body 413, oversized header 413") {
    auto c = server.agent(0);
    auto r = c->post("/v1/updates", std::string(200000, 'x'));
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(code_of(*r) == "payload_too_large");
    auto c2 = server.agent(0);
    auto h = c2->get("/v1/model", {{"X-Padding", std::string(20000, 'a')}});
    REQUIRE(h);
    CHECK(h->status == 413);
  }

  SECTION("a client sending one byte every half second is dropped by the header deadline") {
    auto ctx = make_client_context({fleet_pki().ca(), fleet_pki().agent_cert(0), fleet_pki().agent_key(0)});
    RawTls raw(std::move(ctx), server.port());
    raw.stream.handshake(net::ssl::stream_base::client);
    const std::string request = "GET /v1/model HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    const auto t0 = std::chrono::steady_clock::now();
    bool dropped = false;
    for (size_t i = 0; i < request.size() && !dropped; ++i) {
      boost::system::error_code ec;
      net::write(raw.stream, net::buffer(&request[i], 1), ec);
      if (ec) dropped = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    CHECK(dropped);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  }
  CHECK(server.terminate() == 0);
}

TEST_CASE("update refusals: identity, NaN, layout, staleness, quarantine", "[integration][server]") {
  ScratchDir dir("edgefed-srv");
  ServerProcess server(fleet_pki(), dir.file("state"),
                       {"--model-init", "mlp:16-8-4", "--buffer-k", "1", "--max-staleness", "1",
                        "--staleness-fn", "constant"});
  server.start();
  auto c = server.agent(0);
  auto m = c->get("/v1/model");
  REQUIRE(m);
  const auto layout = decode_model_or_throw(m->body).model.layout;

  SECTION("agent id in the metadata differs from the certificate CN: 403") {
    auto r = c->post("/v1/updates", make_update(layout, Pki::agent_id(1), "x-1", 0, 1, 0.1f));
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK(code_of(*r) == "permission_denied");
  }

  SECTION("NaN in the payload: 422 non_finite") {
    std::string body = make_update(layout, Pki::agent_id(0), "nan-1", 0, 1, 0.1f);
    const uint32_t nan_bits = 0x7fc00000u;
    std::memcpy(body.data() + body.size() - 4, &nan_bits, 4);
    auto r = c->post("/v1/updates", body);
    REQUIRE(r);
    CHECK(r->status == 422);
    CHECK(code_of(*r) == "non_finite");
  }

  SECTION("an update for another layout: 422 dimension_mismatch") {
    auto other = ModelLayout::mlp("mlp:4-3-2");
    REQUIRE(other);
    auto r = c->post("/v1/updates", make_update(*other, Pki::agent_id(0), "lay-1", 0, 1, 0.1f));
    REQUIRE(r);
    CHECK(r->status == 422);
    CHECK(code_of(*r) == "dimension_mismatch");
  }

  SECTION("garbage body: 400") {
    // A safetensors header length of 10, then 10 bytes that are not JSON.
    auto r = c->post("/v1/updates", std::string("\x0a\0\0\0\0\0\0\0", 8) + "not json!!");
    REQUIRE(r);
    CHECK(r->status == 400);
  }

  SECTION("too stale: 410") {
    for (int i = 0; i < 2; ++i) {
      auto r = c->post("/v1/updates", make_update(layout, Pki::agent_id(0), "st-" + std::to_string(i), i, 1, 0.1f));
      REQUIRE(r);
      REQUIRE(r->status == 202);
    }
    // Wait until version 2 exists, then an update from base 0 has tau 2 > 1.
    for (int i = 0; i < 200; ++i) {
      auto v = c->get("/v1/model?wait=5&after=1");
      REQUIRE(v);
      if (v->status == 200) break;
    }
    auto r = c->post("/v1/updates", make_update(layout, Pki::agent_id(0), "st-old", 0, 1, 0.1f));
    REQUIRE(r);
    CHECK(r->status == 410);
    CHECK(code_of(*r) == "too_stale");
  }

  SECTION("quarantined agent: 403 until released; admin needs the admin role") {
    auto admin = server.admin();
    auto q = admin->post("/v1/admin/agents/agent-002/quarantine", R"({"reason":"test"})", "application/json");
    REQUIRE(q);
    REQUIRE(q->status == 200);
    auto c2 = server.agent(2);
    auto r = c2->post("/v1/updates", make_update(layout, Pki::agent_id(2), "q-1", 0, 1, 0.1f));
    REQUIRE(r);
    CHECK(r->status == 403);
    auto list = admin->get("/v1/admin/agents");
    REQUIRE(list);
    CHECK(list->status == 200);
    CHECK(list->body.find("agent-002") != std::string::npos);

    // Agents cannot call admin routes; the bearer token works.
    auto denied = c->post("/v1/admin/agents/agent-002/release", "");
    REQUIRE(denied);
    CHECK(denied->status == 403);
    auto anon = HttpsClient::create(server.anonymous_options());
    REQUIRE(anon);
    auto no_cred = (*anon)->post("/v1/admin/agents/agent-002/release", "");
    REQUIRE(no_cred);
    CHECK(no_cred->status == 401);
    auto bad_token = (*anon)->post("/v1/admin/agents/agent-002/release", "", "application/json",
                                   {{"Authorization", "Bearer wrong-token-wrong-token"}});
    REQUIRE(bad_token);
    CHECK(bad_token->status == 401);
    auto released = (*anon)->post("/v1/admin/agents/agent-002/release", "", "application/json",
                                  {{"Authorization", "Bearer " + server.admin_token()}});
    REQUIRE(released);
    CHECK(released->status == 200);
    auto ok = c2->post("/v1/updates", make_update(layout, Pki::agent_id(2), "q-2", 0, 1, 0.1f));
    REQUIRE(ok);
    CHECK(ok->status == 202);
  }

  SECTION("telemetry duplicates are ignored") {
    auto batch = [](int from, int to) {
      nlohmann::json j;
      j["agent_id"] = Pki::agent_id(0);
      j["records"] = nlohmann::json::array();
      for (int s = from; s <= to; ++s)
        j["records"].push_back({{"seq", s}, {"ts_ms", 1000 + s}, {"kind", "train"}, {"values", {{"loss", 0.5}}}});
      return j.dump();
    };
    auto a = c->post("/v1/telemetry", batch(1, 3), "application/json");
    REQUIRE(a);
    REQUIRE(a->status == 200);
    CHECK(nlohmann::json::parse(a->body)["acked_through"] == 3);
    auto b = c->post("/v1/telemetry", batch(2, 5), "application/json");
    REQUIRE(b);
    REQUIRE(b->status == 200);
    CHECK(nlohmann::json::parse(b->body)["acked_through"] == 5);
    auto s = server.admin()->get("/v1/status");
    REQUIRE(s);
    CHECK(nlohmann::json::parse(s->body)["telemetry_records"] == 5);
    auto bad = c->post("/v1/telemetry", "{not json", "application/json");
    REQUIRE(bad);
    CHECK(bad->status == 400);
  }
  CHECK(server.terminate() == 0);
}

TEST_CASE("per-agent rate limit answers 429 with Retry-After", "[integration][server]") {
  ScratchDir dir("edgefed-srv");
  ServerProcess server(fleet_pki(), dir.file("state"),
                       {"--model-init", "mlp:16-8-4", "--rate-limit", "2", "--rate-limit-burst", "3"});
  server.start();
  auto c = server.agent(0);
  int limited = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = c->get("/v1/model", {{"If-None-Match", "\"none\""}});
    REQUIRE(r);
    if (r->status == 429) {
      ++limited;
      REQUIRE(r->header("Retry-After"));
      CHECK(std::stoi(*r->header("Retry-After")) >= 1);
      CHECK(code_of(*r) == "rate_limited");
    }
  }
  CHECK(limited >= 5);
  // Another agent has its own bucket.
  auto other = server.agent(1);
  auto r = other->get("/v1/task");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto metrics = server.admin()->get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find(R"(code="429",route="model")") != std::string::npos);
  CHECK(server.terminate() == 0);
}

TEST_CASE("update bytes in flight are bounded: 503 + Retry-After before the body, then accepted",
          "[integration][server]") {
  ScratchDir dir("edgefed-srv");
  // A bound of 1 byte: one update at a time, whatever its size.
  ServerProcess server(fleet_pki(), dir.file("state"),
                       {"--model-init", "mlp:16-8-4", "--buffer-k", "100", "--max-update-bytes-in-flight", "1"});
  server.start();
  auto c1 = server.agent(1);
  auto m = c1->get("/v1/model");
  REQUIRE(m);
  const auto layout = decode_model_or_throw(m->body).model.layout;
  const std::string held_body = make_update(layout, Pki::agent_id(0), "held-1", 0, 5, 0.1f);

  // Agent 0 sends the headers of an update and holds its body back.
  auto ctx = make_client_context({fleet_pki().ca(), fleet_pki().agent_cert(0), fleet_pki().agent_key(0)});
  RawTls raw(std::move(ctx), server.port());
  raw.stream.handshake(net::ssl::stream_base::client);
  const std::string head = "POST /v1/updates HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                           "Content-Length: " + std::to_string(held_body.size()) + "\r\n\r\n";
  net::write(raw.stream, net::buffer(head));

  // Once the server has read those headers, agent 1's updates are refused
  // (an attempt that races ahead of them may still be accepted: each uses
  // its own update id). Bounded: 50 attempts 100 ms apart.
  std::optional<HttpResponse> refused;
  for (int i = 0; i < 50 && !refused; ++i) {
    auto r = server.agent(1)->post("/v1/updates",
                                   make_update(layout, Pki::agent_id(1), "early-" + std::to_string(i), 0, 5, 0.2f));
    REQUIRE(r);
    if (r->status == 503) {
      refused = *r;
    } else {
      CHECK(r->status == 202);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  REQUIRE(refused);
  CHECK(code_of(*refused) == "unavailable");
  REQUIRE(refused->header("Retry-After"));
  CHECK(*refused->header("Retry-After") == "1");

  // Agent 0's body completes its update.
  net::write(raw.stream, net::buffer(held_body));
  boost::beast::flat_buffer buf;
  boost::beast::http::response<boost::beast::http::string_body> res;
  boost::beast::http::read(raw.stream, buf, res);
  CHECK(res.result_int() == 202);

  // With nothing in flight, agent 1's retry is accepted.
  auto again = server.agent(1)->post("/v1/updates", make_update(layout, Pki::agent_id(1), "after-1", 0, 5, 0.2f));
  REQUIRE(again);
  CHECK(again->status == 202);
  CHECK(server.terminate() == 0);
}
