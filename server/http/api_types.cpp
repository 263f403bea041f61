#include "server/http/api_types.hpp"

namespace edgefed::server::http {

ApiResponse ApiResponse::json(int status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.body = std::make_shared<const std::string>(std::move(body));
  return r;
}

ApiResponse ApiResponse::error(const Status& status) {
  ApiResponse r = json(http_status_for(status.code()), error_body(status));
  // Every 503 is temporary (overload, shutdown, a full disk or a failed
  // fsync in the store): tell the client when to come back. Agents retry
  // with their own backoff either way; this is for everyone else.
  if (r.status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace edgefed::server::http
