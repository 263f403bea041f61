#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/link/link.hpp"
#include "fake_transport.hpp"

using edgefed::Code;
using edgefed::Status;
using namespace edgefed::agent;
using edgefed::agent::testing::answer;
using edgefed::agent::testing::FakeTransport;

namespace {

struct Fixture {
  edgefed::FakeClock clock;
  FakeTransport::State net;
  bool cut = false;
  std::unique_ptr<Link> link;
  Fixture() {
    LinkOptions o;
    o.server_url = "https://127.0.0.1:8443";
    o.agent_id = "agent-1";
    o.backoff = {.initial_ms = 100, .max_ms = 1000, .multiplier = 2.0, .jitter = 0.0, .seed = 1};
    link = Link::create(o, std::make_unique<FakeTransport>(net), clock, [this] { return cut; });
  }
};

}  // namespace

TEST_CASE("link push: 202 and duplicates are acknowledgements", "[unit]") {
  Fixture f;
  f.net.answers.push_back(answer(202, R"({"version":5,"staleness":1,"weight":32})"));
  auto r = f.link->push_update("BODY");
  CHECK(r.outcome == Outcome::kOk);
  CHECK(r.ack.version == 5);
  CHECK(r.ack.weight == 32);
  CHECK(f.net.sent.back().method == "POST");
  CHECK(f.net.sent.back().target == "/v1/updates");
  CHECK(f.net.sent.back().body == "BODY");
  CHECK(f.link->state() == LinkState::kOnline);

  f.net.answers.push_back(answer(200, R"({"version":5,"staleness":1,"weight":32,"duplicate":true})"));
  r = f.link->push_update("BODY");
  CHECK(r.outcome == Outcome::kOk);
  CHECK(r.ack.duplicate);

  f.net.answers.push_back(answer(202, "not json"));  // still durable on the server
  CHECK(f.link->push_update("BODY").outcome == Outcome::kOk);
}

TEST_CASE("link push: 4xx other than 429 is permanent, the link stays online", "[unit]") {
  Fixture f;
  auto [status, code] = GENERATE(table<int, Code>({
      {400, Code::kInvalidArgument}, {403, Code::kPermissionDenied}, {409, Code::kConflict},
      {410, Code::kTooStale}, {413, Code::kPayloadTooLarge}, {422, Code::kDimensionMismatch}}));
  const std::string name(edgefed::code_name(code));
  f.net.answers.push_back(
      answer(status, R"({"error":{"code":")" + name + R"(","message":"no"}})"));
  auto r = f.link->push_update("BODY");
  CHECK(r.outcome == Outcome::kRejected);
  CHECK(r.status.code() == code);
  CHECK(f.link->state() == LinkState::kOnline);
  CHECK(f.link->ready());
}

TEST_CASE("link: 429, 5xx and transport errors are retried after backoff", "[unit]") {
  Fixture f;
  f.net.answers.push_back(answer(503, R"({"error":{"code":"unavailable","message":"busy"}})",
                                 {{"Retry-After", "3"}}));
  auto r = f.link->push_update("B");
  CHECK(r.outcome == Outcome::kRetry);
  CHECK(r.status.code() == Code::kUnavailable);
  CHECK(f.link->state() == LinkState::kOffline);
  CHECK(f.link->wait_ms() == 3000);
  f.clock.advance_ms(3000);
  CHECK(f.link->ready());

  f.net.answers.push_back(answer(429, "slow down"));
  CHECK(f.link->push_update("B").outcome == Outcome::kRetry);
  CHECK(f.link->wait_ms() == 200);
  f.clock.advance_ms(200);
  f.net.answers.push_back(Status(Code::kUnavailable, "connection refused"));
  CHECK(f.link->post_telemetry({"agent-1", {{1, 1, "train", {}, {}}}}).outcome == Outcome::kRetry);
  CHECK(f.link->wait_ms() == 400);
  f.clock.advance_ms(400);
  f.net.answers.push_back(answer(500, ""));
  CHECK_FALSE(f.link->fetch_task().is_ok());
  CHECK(f.link->wait_ms() == 800);
  f.clock.advance_ms(800);
  f.net.answers.push_back(answer(200, R"({"acked_through":1})"));
  auto t = f.link->post_telemetry({"agent-1", {{1, 1, "train", {}, {}}}});
  CHECK(t.outcome == Outcome::kOk);
  CHECK(t.acked_through == 1);
  CHECK(f.link->state() == LinkState::kOnline);
  CHECK(f.link->stats().recoveries == 1);
}

TEST_CASE("link fault hook cuts the link without touching the network", "[unit]") {
  Fixture f;
  f.cut = true;
  auto r = f.link->push_update("B");
  CHECK(r.outcome == Outcome::kRetry);
  CHECK(f.net.sent.empty());
  CHECK(f.net.closes == 1);
  CHECK(f.link->state() == LinkState::kOffline);
}

TEST_CASE("link model fetch: ETag, 304, version, long poll", "[unit]") {
  Fixture f;
  f.net.answers.push_back(answer(200, "MODEL", {{"ETag", "\"v3\""}, {"X-Model-Version", "3"}}));
  auto m = f.link->fetch_model("");
  REQUIRE(m.is_ok());
  CHECK_FALSE(m->not_modified);
  CHECK(m->bytes == "MODEL");
  CHECK(m->etag == "\"v3\"");
  CHECK(m->version == 3);
  CHECK(f.net.sent.back().headers.empty());

  f.net.answers.push_back(answer(304, ""));
  m = f.link->fetch_model("\"v3\"", 3, 20);
  REQUIRE(m.is_ok());
  CHECK(m->not_modified);
  CHECK(m->etag == "\"v3\"");
  CHECK(f.net.sent.back().target == "/v1/model?wait=20&after=3");
  REQUIRE(f.net.sent.back().headers.size() == 1);
  CHECK(f.net.sent.back().headers[0].first == "If-None-Match");
  CHECK(f.net.sent.back().timeout >= std::chrono::seconds(20));
}

TEST_CASE("link telemetry: body, bad acks and permanent refusals", "[unit]") {
  Fixture f;
  edgefed::TelemetryBatch batch{"agent-1", {{7, 100, "train", {{"loss", 0.5}}, {}}}};
  f.net.answers.push_back(answer(200, R"({"acked_through":7})"));
  auto r = f.link->post_telemetry(batch);
  CHECK(r.outcome == Outcome::kOk);
  CHECK(r.acked_through == 7);
  auto sent = nlohmann::json::parse(f.net.sent.back().body);
  CHECK(sent["agent_id"] == "agent-1");
  CHECK(sent["records"][0]["seq"] == 7);
  CHECK(f.net.sent.back().content_type == "application/json");

  f.net.answers.push_back(answer(200, R"({"nope":1})"));
  CHECK(f.link->post_telemetry(batch).outcome == Outcome::kRetry);
  f.net.answers.push_back(answer(400, R"({"error":{"code":"invalid_argument","message":"x"}})"));
  CHECK(f.link->post_telemetry(batch).outcome == Outcome::kRejected);
}

TEST_CASE("link task is parsed; a bad task is an error, not a crash", "[unit]") {
  Fixture f;
  edgefed::Task t;
  t.agent_id = "agent-1";
  t.model_version = 4;
  t.layout_fingerprint = "0123456789abcdef";
  f.net.answers.push_back(answer(200, edgefed::to_json(t).dump()));
  auto got = f.link->fetch_task();
  REQUIRE(got.is_ok());
  CHECK(got->model_version == 4);
  f.net.answers.push_back(answer(200, "{]"));
  CHECK(f.link->fetch_task().status().code() == Code::kInvalidArgument);
  f.net.answers.push_back(answer(404, ""));
  CHECK(f.link->fetch_task().status().code() == Code::kNotFound);
}

TEST_CASE("server URLs are parsed strictly", "[unit]") {
  auto [url, ok, host, port] = GENERATE(table<std::string, bool, std::string, int>({
      {"https://127.0.0.1:8443", true, "127.0.0.1", 8443},
      {"https://server.local:443/", true, "server.local", 443},
      {"https://[::1]:9000", true, "::1", 9000},
      {"http://127.0.0.1:8443", false, "", 0},
      {"https://127.0.0.1", false, "", 0},
      {"https://127.0.0.1:0", false, "", 0},
      {"https://127.0.0.1:70000", false, "", 0},
      {"https://127.0.0.1:84x", false, "", 0},
      {"https://:8443", false, "", 0},
      {"https://h:1/v1", false, "", 0},
  }));
  auto r = parse_server_url(url);
  CHECK(r.is_ok() == ok);
  if (ok && r.is_ok()) {
    CHECK(r->first == host);
    CHECK(r->second == port);
  }
}
