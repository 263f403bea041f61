#include "edgefed/status.hpp"

#include <nlohmann/json.hpp>

namespace edgefed {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kNotFound: return "not_found";
    case Code::kMethodNotAllowed: return "method_not_allowed";
    case Code::kConflict: return "conflict";
    case Code::kTooStale: return "too_stale";
    case Code::kPayloadTooLarge: return "payload_too_large";
    case Code::kDimensionMismatch: return "dimension_mismatch";
    case Code::kNonFinite: return "non_finite";
    case Code::kUnprocessable: return "unprocessable";
    case Code::kRateLimited: return "rate_limited";
    case Code::kUnavailable: return "unavailable";
    case Code::kInternal: return "internal";
    case Code::kIo: return "io_error";
  }
  return "internal";
}

int http_status_for(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kMethodNotAllowed: return 405;
    case Code::kConflict: return 409;
    case Code::kTooStale: return 410;
    case Code::kPayloadTooLarge: return 413;
    case Code::kDimensionMismatch:
    case Code::kNonFinite:
    case Code::kUnprocessable: return 422;
    case Code::kRateLimited: return 429;
    case Code::kUnavailable: return 503;
    case Code::kInternal:
    case Code::kIo: return 500;
  }
  return 500;
}

Code code_for_http_status(int http_status) {
  if (http_status == 422) return Code::kUnprocessable;
  for (int c = static_cast<int>(Code::kOk); c <= static_cast<int>(Code::kIo); ++c) {
    if (http_status_for(static_cast<Code>(c)) == http_status) return static_cast<Code>(c);
  }
  if (http_status >= 500) return Code::kInternal;
  if (http_status >= 400) return Code::kInvalidArgument;
  return http_status >= 200 && http_status < 300 ? Code::kOk : Code::kInternal;
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

std::string error_body(const Status& status) {
  nlohmann::json j;
  j["error"]["code"] = code_name(status.code());
  j["error"]["message"] = status.message();
  // Replace invalid UTF-8 (messages may quote hostile input) instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace edgefed
