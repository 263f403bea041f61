#include "edgefed/status.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"

using namespace edgefed;

TEST_CASE("error codes map to HTTP statuses and snake_case names", "[unit][status]") {
  auto [code, http, name] = GENERATE(table<Code, int, std::string>({
      {Code::kInvalidArgument, 400, "invalid_argument"},
      {Code::kUnauthenticated, 401, "unauthenticated"},
      {Code::kPermissionDenied, 403, "permission_denied"},
      {Code::kConflict, 409, "conflict"},
      {Code::kTooStale, 410, "too_stale"},
      {Code::kPayloadTooLarge, 413, "payload_too_large"},
      {Code::kDimensionMismatch, 422, "dimension_mismatch"},
      {Code::kNonFinite, 422, "non_finite"},
      {Code::kRateLimited, 429, "rate_limited"},
      {Code::kUnavailable, 503, "unavailable"},
  }));
  CHECK(http_status_for(code) == http);
  CHECK(code_name(code) == name);
}

TEST_CASE("error body is the one JSON shape and survives invalid UTF-8", "[unit][status]") {
  const Status st(Code::kDimensionMismatch, "bad \xff tensor");
  const auto j = nlohmann::json::parse(error_body(st));
  CHECK(j["error"]["code"] == "dimension_mismatch");
  CHECK(j["error"]["message"].get<std::string>().find("tensor") != std::string::npos);
}

TEST_CASE("Result holds a value or a status", "[unit][status]") {
  Result<int> good = 7;
  REQUIRE(good.is_ok());
  CHECK(*good == 7);
  Result<int> bad(Code::kNotFound, "nope");
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == Code::kNotFound);
  CHECK(bad.status().to_string() == "not_found: nope");
}

TEST_CASE("codes and HTTP statuses map both ways through one table", "[unit][status]") {
  for (int c = static_cast<int>(edgefed::Code::kOk); c <= static_cast<int>(edgefed::Code::kIo); ++c) {
    const auto code = static_cast<edgefed::Code>(c);
    const int http = edgefed::http_status_for(code);
    // A bare status gives back a code with the same HTTP status...
    CHECK(edgefed::http_status_for(edgefed::code_for_http_status(http)) == http);
    // ...and an error body gives back the exact code and message.
    if (code == edgefed::Code::kOk) continue;
    const edgefed::Status st(code, "why");
    const edgefed::Status back = edgefed::status_from_http(http, edgefed::error_body(st));
    CHECK(back.code() == code);
    CHECK(back.message() == "why");
  }
  CHECK(edgefed::code_for_http_status(422) == edgefed::Code::kUnprocessable);
  CHECK(edgefed::code_for_http_status(500) == edgefed::Code::kInternal);
  CHECK(edgefed::code_for_http_status(502) == edgefed::Code::kInternal);
  CHECK(edgefed::code_for_http_status(418) == edgefed::Code::kInvalidArgument);
  // Not a JSON error body (a proxy's page): the status decides.
  const auto proxy = edgefed::status_from_http(503, "<html>busy</html>");
  CHECK(proxy.code() == edgefed::Code::kUnavailable);
  CHECK(proxy.message() == "HTTP 503");
  CHECK(edgefed::status_from_http(202, "{}").is_ok());
}
