// A small synchronous HTTPS/1.1 client with keep-alive, shared by the agent's
// link, the simulator, the integration tests and the ingest benchmark.
//
//   HttpsClientOptions o;
//   o.host = "127.0.0.1"; o.port = 8443;
//   o.tls = {.ca_file = "ca.pem", .cert_file = "agent-1.pem", .key_file = "agent-1.key"};
//   auto client = HttpsClient::create(o);            // Result<unique_ptr<HttpsClient>>
//   if (!client) return client.status();
//   auto r = (*client)->get("/v1/model");             // Result<HttpResponse>
//   if (r && r->status == 200) use(r->body);
//
// Security: TLS 1.3 only (edgefed::make_client_context), the server
// certificate is verified against ca_file (verify_peer) and its name against
// `server_name` (DNS name or IP address, RFC 2818 rules); SNI is sent for DNS
// names. A client certificate is presented when cert_file is set.
//
// Errors: never throws. A Result error means no HTTP response was obtained:
//   kUnavailable     connect/handshake/IO failure or timeout (retry later)
//   kUnauthenticated the server's certificate did not verify
//   kInvalidArgument bad options (unreadable CA/cert/key files, bad host)
//   kPayloadTooLarge the response exceeded max_response_bytes
// Any HTTP status (including 4xx/5xx) is a successful Result; look at
// HttpResponse::status.
//
// Connections: the connection is opened lazily and kept alive between
// requests. If a request on a reused connection fails before any response byte
// arrived (the server closed an idle connection), the client reconnects and
// sends it once more; every edgefed request is idempotent (update_id, seq),
// so this is safe for POSTs too. Set retry_stale_connection=false to disable.
//
// Timeouts: each phase has its own deadline (connect, TLS handshake, and the
// whole request = write + read of the response); a timeout closes the
// connection and returns kUnavailable.
//
// Thread safety: an HttpsClient is not thread-safe; use one per thread (or
// guard it). Several clients may share one ssl::context (create_shared).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edgefed/status.hpp"
#include "edgefed/tls.hpp"

namespace edgefed {

struct HttpResponse {
  int status = 0;
  // Header fields in arrival order, names as sent by the server.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header field with this name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct HttpsClientOptions {
  std::string host = "127.0.0.1";  // DNS name or IP address to connect to
  uint16_t port = 8443;
  std::string server_name;         // name to verify and send as SNI ("" = host)
  ClientTlsOptions tls;            // CA, optional client cert + key
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};  // write + read of one exchange
  size_t max_response_bytes = 256u << 20;             // body limit, 256 MiB
  bool retry_stale_connection = true;
  std::string user_agent = "edgefed";
};

// A header field to send with one request.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class HttpsClient {
 public:
  // Builds the TLS context from options.tls (reads the PEM files).
  static Result<std::unique_ptr<HttpsClient>> create(const HttpsClientOptions& options);
  // Shares an existing context (e.g. many benchmark connections, one context),
  // normally one from make_context. options.tls is ignored.
  static std::unique_ptr<HttpsClient> create_shared(
      const HttpsClientOptions& options, std::shared_ptr<boost::asio::ssl::context> ssl_context);
  // make_client_context as a Result (kInvalidArgument on bad files).
  static Result<std::shared_ptr<boost::asio::ssl::context>> make_context(const ClientTlsOptions& tls);

  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // One request/response exchange. `target` is the path with query
  // ("/v1/model?wait=30&after=4"). Host, User-Agent and Content-Length are set
  // by the client; `content_type` is sent when body is non-empty or the
  // method is POST/PUT. `timeout` overrides request_timeout when > 0 (long
  // polls). Connection errors return a Status (see above).
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body = {},
                               std::string_view content_type = "application/octet-stream",
                               const HttpHeaders& headers = {},
                               std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

  Result<HttpResponse> get(std::string_view target, const HttpHeaders& headers = {},
                           std::chrono::milliseconds timeout = std::chrono::milliseconds{0}) {
    return request("GET", target, {}, {}, headers, timeout);
  }
  Result<HttpResponse> post(std::string_view target, std::string_view body,
                            std::string_view content_type = "application/octet-stream",
                            const HttpHeaders& headers = {}) {
    return request("POST", target, body, content_type, headers);
  }

  // Opens the connection now (otherwise the first request does).
  Status connect();
  // Sends close_notify (bounded by handshake_timeout) and closes the socket.
  void close();
  bool connected() const;
  // Number of TCP+TLS connections opened so far (tests check keep-alive).
  int64_t connections_opened() const;

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgefed
