// The agent's link to edgefed-server (wire contract v1, docs/architecture.md) on
// top of edgefed::HttpsClient: TLS 1.3, client certificate, server
// certificate verified against the CA and its name checked; connect,
// handshake and request timeouts; keep-alive.
//
// Each call is exactly one attempt (the shared client may transparently
// resend once on a stale keep-alive connection; every call is idempotent).
// Failures feed the LinkMonitor, which decides when the next attempt may be
// made (capped exponential backoff with jitter) and logs online / offline /
// recovered; callers check ready() before calling and otherwise carry on
// (the agent keeps training while offline).
//
// Outcome of a call:
//   kOk        the server answered 2xx (or 304 for the model)
//   kRetry     no answer, 429, 5xx: try again later (backoff)
//   kRejected  another 4xx: the server refused this request for good; the
//              caller drops the record (counted), it must never retry it
//
// Thread safety: not thread-safe (one agent thread), except the read-only
// state accessors (state(), stats(), ready(), wait_ms()).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "agent/link/backoff.hpp"
#include "edgefed/clock.hpp"
#include "agent/link/link_monitor.hpp"
#include "agent/link/transport.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "edgefed/tls.hpp"

namespace edgefed::agent {

struct LinkOptions {
  std::string server_url;   // "https://HOST:PORT"
  std::string server_name;  // name the server certificate must carry ("" = HOST)
  ClientTlsOptions tls;     // CA, client certificate and key
  std::string agent_id;     // log lines and telemetry batches
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};  // write + read of one exchange
  size_t max_model_bytes = 256u << 20;
  BackoffOptions backoff;
};

// "https://HOST:PORT[/]" -> {HOST, PORT}; HOST may be "[v6addr]" (returned
// without brackets). kInvalidArgument with the reason.
Result<std::pair<std::string, uint16_t>> parse_server_url(const std::string& url);

enum class Outcome { kOk, kRetry, kRejected };

// Whether a failed fetch's Status is one the link retries (no answer, 429,
// 5xx: kUnavailable, kRateLimited, kInternal) rather than a refusal.
bool retryable(Code code);

struct ModelFetch {
  bool not_modified = false;  // 304: the cached model is current
  std::string bytes;          // safetensors, when !not_modified
  std::string etag;
  int64_t version = -1;       // X-Model-Version, -1 if absent
};

struct PushResult {
  Outcome outcome = Outcome::kRetry;
  UpdateAck ack;  // kOk
  Status status;  // kRetry / kRejected: why
};

struct TelemetryResult {
  Outcome outcome = Outcome::kRetry;
  int64_t acked_through = 0;  // kOk
  Status status;
};

// The answer to one secure-aggregation call (secagg_join/post/next).
struct SecAggResult {
  Outcome outcome = Outcome::kRetry;
  // The HTTP status, 0 when no answer came: with status.code() it tells a
  // 409 (kConflict: the model moved on), a 404 (kNotFound: no such session,
  // or no secure aggregation on the server) and a 503 (kUnavailable: a sync
  // round is full) from a failed connection (0, kUnavailable).
  int http_status = 0;
  nlohmann::json body;  // kOk: the parsed answer (a JSON object)
  Status status;        // kRetry / kRejected: why, with the server's error code
};

// Returns true while the simulator wants this agent's link cut.
using LinkFaultHook = std::function<bool()>;

class Link {
 public:
  // Reads the PEM files (kInvalidArgument if unreadable) and parses the URL.
  // `clock` must outlive the link.
  static Result<std::unique_ptr<Link>> create(const LinkOptions& options, const Clock& clock,
                                              LinkFaultHook fault = {});
  // With a given transport (tests).
  static std::unique_ptr<Link> create(const LinkOptions& options,
                                      std::unique_ptr<Transport> transport, const Clock& clock,
                                      LinkFaultHook fault = {});

  bool ready() const { return monitor_.ready(); }
  int64_t wait_ms() const { return monitor_.wait_ms(); }
  LinkState state() const { return monitor_.state(); }
  LinkStats stats() const { return monitor_.stats(); }

  // GET /v1/task. Errors: kUnavailable (retry later) or the server's refusal.
  Result<Task> fetch_task();
  // GET /v1/model with If-None-Match: etag (if non-empty); wait_s > 0
  // long-polls for a version newer than after_version.
  Result<ModelFetch> fetch_model(std::string_view etag, int64_t after_version = -1,
                                 int wait_s = 0);
  // GET /v1/versions/{version}/model: a kept version (the serving channels'
  // stable or canary one). Errors: kUnavailable (retry later), kNotFound
  // (not kept any more), or the server's refusal.
  Result<std::string> fetch_version(int64_t version);
  // POST /v1/updates (safetensors body). 202 (or a duplicate's repeated
  // answer) is kOk.
  PushResult push_update(std::string_view body);
  // POST /v1/telemetry.
  TelemetryResult post_telemetry(const TelemetryBatch& batch);

  // Secure aggregation (docs/secure-aggregation.md, the server's
  // server/http/secagg_routes.hpp). An answer that is 2xx but not a JSON
  // object is kRetry with kInvalidArgument (nothing can be done with it).
  // POST /v1/secagg/join {"base_version": V}: kOk with {"session",
  // "base_version", "cohort_size", "vector_length", "clip",
  // "phase_timeout_s"}; 409 when V is not the server's version, 503 when
  // the sync round is full.
  SecAggResult secagg_join(int64_t base_version);
  // POST /v1/secagg/message: one agent -> server protocol message (its
  // to_json()); kOk is 202 (a resent identical message is accepted again;
  // the body is not needed and may be empty).
  SecAggResult secagg_post(const nlohmann::json& message);
  // GET /v1/secagg/next?session=ID: kOk with a server message or
  // {"type": "wait" | "done" | "aborted" | "excluded", ...}; 404 when the
  // server does not know the session (any more).
  SecAggResult secagg_next(const std::string& session);

 private:
  Link(const LinkOptions& options, std::unique_ptr<Transport> transport, const Clock& clock,
       LinkFaultHook fault);
  // One exchange; reports transport failures, 429 and 5xx to the monitor.
  struct Exchange {
    Outcome outcome = Outcome::kRetry;
    HttpResponse response;
    Status status;
  };
  Exchange exchange(std::string_view method, std::string_view target, std::string_view body,
                    std::string_view content_type, const HttpHeaders& headers,
                    std::chrono::milliseconds timeout);
  // An exchange as a SecAggResult; `need_body`: a 2xx must carry a JSON object.
  SecAggResult secagg_result(Exchange ex, bool need_body);

  LinkOptions options_;
  std::unique_ptr<Transport> transport_;
  const Clock& clock_;
  LinkFaultHook fault_;
  LinkMonitor monitor_;
};

}  // namespace edgefed::agent
