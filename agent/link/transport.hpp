// How the link reaches the server: an interface over edgefed::HttpsClient, so
// tests can script responses and failures without a network.
//
// Thread safety: none; one owner (the Link).
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "edgefed/https_client.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

class Transport {
 public:
  virtual ~Transport() = default;
  // Same contract as HttpsClient::request: a Status only when no HTTP
  // response was obtained (kUnavailable: retry later).
  virtual Result<HttpResponse> request(std::string_view method, std::string_view target,
                                       std::string_view body, std::string_view content_type,
                                       const HttpHeaders& headers,
                                       std::chrono::milliseconds timeout) = 0;
  // Drops the connection (the next request reconnects).
  virtual void close() = 0;
};

// The real transport. Builds the TLS context from options.tls (kInvalidArgument
// on unreadable CA/cert/key files).
Result<std::unique_ptr<Transport>> make_https_transport(const HttpsClientOptions& options);

}  // namespace edgefed::agent
