// The link's secure aggregation calls (secagg_join, secagg_post,
// secagg_next) against the scripted transport: the requests they make, and
// how answers map to outcomes, HTTP statuses and the server's error codes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/link/link.hpp"
#include "fake_transport.hpp"

namespace edgefed::agent::link_secagg_test {

using edgefed::agent::testing::answer;
using edgefed::agent::testing::FakeTransport;
using nlohmann::json;

struct SecAggLinkFixture {
  FakeClock clock;
  FakeTransport::State net;
  std::unique_ptr<Link> link;
  SecAggLinkFixture() {
    LinkOptions o;
    o.server_url = "https://127.0.0.1:8443";
    o.agent_id = "agent-1";
    o.backoff = {.initial_ms = 100, .max_ms = 1000, .multiplier = 2.0, .jitter = 0.0, .seed = 1};
    link = Link::create(o, std::make_unique<FakeTransport>(net), clock);
  }
};

std::string error_json(Code code, const std::string& message) { return error_body(Status(code, message)); }

TEST_CASE("link secagg_join: the request, a session, and the answers a caller tells apart", "[unit]") {
  SecAggLinkFixture f;
  f.net.answers.push_back(answer(200, R"({"session":"v5-ab","base_version":5,"cohort_size":4,)"
                                      R"("vector_length":51,"clip":1.0,"phase_timeout_s":60})"));
  SecAggResult r = f.link->secagg_join(5);
  CHECK(r.outcome == Outcome::kOk);
  CHECK(r.http_status == 200);
  CHECK(r.body["session"] == "v5-ab");
  CHECK(r.body["vector_length"] == 51);
  CHECK(f.net.sent.back().method == "POST");
  CHECK(f.net.sent.back().target == "/v1/secagg/join");
  CHECK(f.net.sent.back().content_type == "application/json");
  CHECK(json::parse(f.net.sent.back().body) == json{{"base_version", 5}});

  // 409: the model moved on. A refusal: the link stays online.
  f.net.answers.push_back(answer(409, error_json(Code::kConflict, "sessions are for version 6")));
  r = f.link->secagg_join(5);
  CHECK(r.outcome == Outcome::kRejected);
  CHECK(r.http_status == 409);
  CHECK(r.status.code() == Code::kConflict);
  CHECK(r.status.message() == "sessions are for version 6");
  CHECK(f.link->state() == LinkState::kOnline);

  // 404 (no secure aggregation there).
  f.net.answers.push_back(answer(404, error_json(Code::kNotFound, "secure aggregation is off on this server")));
  r = f.link->secagg_join(5);
  CHECK(r.outcome == Outcome::kRejected);
  CHECK(r.http_status == 404);
  CHECK(r.status.code() == Code::kNotFound);

  // 503: the sync round is full. Retried later, like every 5xx.
  f.net.answers.push_back(answer(503, error_json(Code::kUnavailable, "round 5 is full")));
  r = f.link->secagg_join(5);
  CHECK(r.outcome == Outcome::kRetry);
  CHECK(r.http_status == 503);
  CHECK(r.status.code() == Code::kUnavailable);
  CHECK(f.link->state() == LinkState::kOffline);
  CHECK_FALSE(f.link->ready());

  // No answer at all: the same code, but no HTTP status.
  f.clock.advance_ms(f.link->wait_ms());
  f.net.answers.push_back(Status(Code::kUnavailable, "connection refused"));
  r = f.link->secagg_join(5);
  CHECK(r.outcome == Outcome::kRetry);
  CHECK(r.http_status == 0);
  CHECK(r.status.code() == Code::kUnavailable);
}

TEST_CASE("link secagg_post: the message as the body, 202 with or without a body", "[unit]") {
  SecAggLinkFixture f;
  const json message = {{"type", "masked_input"}, {"session", "v5-ab"}, {"agent", 7}, {"length", 0}, {"values", ""}};
  f.net.answers.push_back(answer(202, R"({"accepted":true})"));
  SecAggResult r = f.link->secagg_post(message);
  CHECK(r.outcome == Outcome::kOk);
  CHECK(r.http_status == 202);
  CHECK(r.body["accepted"] == true);
  CHECK(f.net.sent.back().method == "POST");
  CHECK(f.net.sent.back().target == "/v1/secagg/message");
  CHECK(json::parse(f.net.sent.back().body) == message);

  f.net.answers.push_back(answer(202, ""));  // accepted is accepted
  CHECK(f.link->secagg_post(message).outcome == Outcome::kOk);

  f.net.answers.push_back(answer(403, error_json(Code::kPermissionDenied, "cannot send a message for id 8")));
  r = f.link->secagg_post(message);
  CHECK(r.outcome == Outcome::kRejected);
  CHECK(r.status.code() == Code::kPermissionDenied);
}

TEST_CASE("link secagg_next: the session in the query, 404, and answers that are not JSON objects", "[unit]") {
  SecAggLinkFixture f;
  f.net.answers.push_back(answer(200, R"({"type":"wait","phase":"advertise"})"));
  SecAggResult r = f.link->secagg_next("v5-ab:1");
  CHECK(r.outcome == Outcome::kOk);
  CHECK(r.body["type"] == "wait");
  CHECK(r.body["phase"] == "advertise");
  CHECK(f.net.sent.back().method == "GET");
  CHECK(f.net.sent.back().target == "/v1/secagg/next?session=v5-ab:1");

  f.net.answers.push_back(answer(404, error_json(Code::kNotFound, "no open secure aggregation session 'v5-ab:1'")));
  r = f.link->secagg_next("v5-ab:1");
  CHECK(r.outcome == Outcome::kRejected);
  CHECK(r.http_status == 404);
  CHECK(r.status.code() == Code::kNotFound);

  // A 2xx that cannot be acted on is asked again; the link itself is fine.
  for (const char* body : {"not json", "[1,2]", ""}) {
    f.net.answers.push_back(answer(200, body));
    r = f.link->secagg_next("v5-ab:1");
    CHECK(r.outcome == Outcome::kRetry);
    CHECK(r.http_status == 200);
    CHECK(r.status.code() == Code::kInvalidArgument);
    CHECK(f.link->state() == LinkState::kOnline);
  }
}

}  // namespace edgefed::agent::link_secagg_test
