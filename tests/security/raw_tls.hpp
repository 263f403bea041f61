// Test support: a blocking TLS client on plain OpenSSL, for traffic our
// HttpsClient refuses to produce (old protocol versions, malformed or
// never-ending requests, one byte at a time). Every socket has send and
// receive timeouts, so no call blocks longer than the given bound.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace edgefed::testing {

struct RawTlsOptions {
  std::string ca_file;    // verify the server against this CA ("" = no verification)
  std::string cert_file;  // client certificate ("" = none)
  std::string key_file;
  int min_version = TLS1_3_VERSION;  // protocol range offered (TLS1_VERSION ... TLS1_3_VERSION)
  int max_version = TLS1_3_VERSION;
  std::chrono::milliseconds timeout{5000};  // per send/receive call
};

class RawTls {
 public:
  RawTls() = default;
  ~RawTls();
  RawTls(const RawTls&) = delete;
  RawTls& operator=(const RawTls&) = delete;

  // TCP connect to 127.0.0.1:port and the TLS handshake. False on any failure.
  bool connect(uint16_t port, const RawTlsOptions& options);
  // Writes all bytes; false on error (peer closed, timeout).
  bool write(std::string_view bytes);
  // Reads one HTTP response head (and up to `max` bytes); "" on timeout or
  // close before any byte.
  std::string read_response(size_t max = 1 << 20);
  // The negotiated protocol ("TLSv1.3"), "" before a handshake.
  std::string protocol() const;
  void close();

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

// The status code of an HTTP/1.1 response head, or 0.
int status_of(const std::string& response);
// One request on a fresh connection; returns the raw response ("" if none).
std::string exchange(uint16_t port, const RawTlsOptions& options, std::string_view request);

}  // namespace edgefed::testing
