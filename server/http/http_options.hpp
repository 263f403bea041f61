// Configuration of the HTTPS front end (listener, sessions, limits, auth).
// main() fills it from the command line; tests fill it directly. Every field
// has its default in the comment-free initialiser and its meaning here.
#pragma once

#include <cstdint>
#include <string>

#include <memory>
#include <vector>

#include "edgefed/enum_names.hpp"
#include "edgefed/tls.hpp"

namespace prometheus {
class Collectable;
}

namespace edgefed::server::http {

// What GET / and GET /v1/status show to callers without the viewer or admin
// role (no client certificate, an agent certificate, and everyone on the
// plain metrics listener).
enum class StatusAnonymous {
  kNone,     // nothing: 401 without a credential, 403 for an agent (default)
  kSummary,  // the page and a summary that names no agent (no agent_list)
  kFull,     // everything, agent ids included (a closed network only)
};
inline constexpr EnumName<StatusAnonymous> kStatusAnonymousNames[] = {
    {StatusAnonymous::kNone, "none"}, {StatusAnonymous::kSummary, "summary"}, {StatusAnonymous::kFull, "full"}};
constexpr std::span<const EnumName<StatusAnonymous>> enum_names(StatusAnonymous) { return kStatusAnonymousNames; }

struct HttpOptions {
  // Where the HTTPS API listens; port 0 picks a free port (see Server::port()).
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 8443;
  // Optional plain-HTTP listener serving only GET /metrics (and /healthz).
  bool metrics_listen = false;
  std::string metrics_host = "127.0.0.1";
  uint16_t metrics_port = 9464;
  // Also serve the read-only status page (GET /) and GET /v1/status on the
  // plain listener, for browsers without a client certificate. Its callers
  // are anonymous: they see what status_anonymous allows (kNone is refused
  // at start-up together with this).
  bool status_on_metrics_port = false;
  // Collected at every scrape besides the registry (process metrics,
  // per-agent top-N series computed at scrape time). Not configuration:
  // main() fills it.
  std::vector<std::shared_ptr<prometheus::Collectable>> extra_collectables;

  // TLS 1.3 server certificate, key, client CA (mTLS, optional per route).
  ServerTlsOptions tls;
  // The admin bearer token ("" = no token; admin certificates still work).
  std::string admin_token;
  // The status page and /v1/status for callers without the viewer or admin role.
  StatusAnonymous status_anonymous = StatusAnonymous::kNone;

  // Threads running the io_context (0 = number of CPUs, at least 2), and
  // worker threads for blocking engine calls (decode, waiting for the SQLite
  // group commit; 0 = 32 per CPU, at least 64).
  int io_threads = 0;
  int worker_threads = 0;

  // ---- limits ----
  // Open connections beyond this are closed right after accept.
  int64_t max_connections = 10000;
  // Request line + header fields, bytes (413 beyond).
  uint64_t header_limit = 16 * 1024;
  // POST /v1/updates body limit; 0 = derived from the current model:
  // 2 x model bytes + 1 MiB (dense f32 is 1 x; the slack covers metadata and
  // sparse encodings).
  uint64_t update_body_limit = 0;
  // Update bodies being received or processed at once, bytes (by their
  // Content-Length); a request beyond it gets 503 + Retry-After before its
  // body is read, unless nothing else is in flight. 0 = 8 x model bytes, at
  // least 256 MiB. Bounds the server's memory with large models: each update
  // in flight holds its body and its decoded delta.
  uint64_t max_update_bytes_in_flight = 0;
  // POST /v1/admin/model body limit (a new model may be larger).
  uint64_t admin_body_limit = 1024ull << 20;
  // JSON bodies (telemetry, admin JSON).
  uint64_t json_body_limit = 4u << 20;
  // Bodies of other requests (GET ...).
  uint64_t small_body_limit = 64 * 1024;

  // ---- timeouts, seconds ----
  double handshake_timeout_s = 10;
  // Keep-alive: how long a connection may wait for the first byte of the
  // next request.
  double idle_timeout_s = 75;
  // Total time to receive the request line and headers once the first byte
  // arrived (a client sending one byte a second never makes it).
  double header_timeout_s = 10;
  // Total time to receive a body.
  double body_timeout_s = 120;
  // Total time to send a response.
  double write_timeout_s = 120;
  // Longest ?wait= a long poll may ask for.
  double max_long_poll_s = 300;

  // ---- per-agent rate limit (token bucket; 0 = off) ----
  double rate_limit_rps = 50;
  double rate_limit_burst = 100;

  // SIGTERM: longest wait for in-flight requests before stopping anyway.
  double shutdown_grace_s = 30;
};

}  // namespace edgefed::server::http
