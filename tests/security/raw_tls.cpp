#include "raw_tls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

namespace edgefed::testing {

RawTls::~RawTls() { close(); }

void RawTls::close() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
  ssl_ = nullptr;
  ctx_ = nullptr;
  fd_ = -1;
}

bool RawTls::connect(uint16_t port, const RawTlsOptions& o) {
  // Writes to a connection the server dropped must fail, not kill the test.
  static const bool ignore_sigpipe = [] { return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)ignore_sigpipe;
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return false;
  timeval tv{};
  tv.tv_sec = o.timeout.count() / 1000;
  tv.tv_usec = (o.timeout.count() % 1000) * 1000;
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;

  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) return false;
  if (o.min_version < TLS1_2_VERSION) {
    // Let OpenSSL offer what a legacy client offers.
    SSL_CTX_set_security_level(ctx_, 0);
    SSL_CTX_set_cipher_list(ctx_, "ALL:@SECLEVEL=0");
  }
  SSL_CTX_set_min_proto_version(ctx_, o.min_version);
  SSL_CTX_set_max_proto_version(ctx_, o.max_version);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx_, o.ca_file.c_str(), nullptr) != 1) return false;
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx_, o.cert_file.c_str()) != 1) return false;
    if (SSL_CTX_use_PrivateKey_file(ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) return false;
  }
  ssl_ = SSL_new(ctx_);
  if (!ssl_) return false;
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  return SSL_connect(ssl_) == 1;
}

bool RawTls::write(std::string_view bytes) {
  if (!ssl_) return false;
  while (!bytes.empty()) {
    const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string RawTls::read_response(size_t max) {
  std::string out;
  if (!ssl_) return out;
  char buf[16384];
  while (out.size() < max) {
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    // Stop once the head and the declared body are in.
    const auto head_end = out.find("\r\n\r\n");
    if (head_end == std::string::npos) continue;
    size_t want = 0;
    const auto cl = out.find("Content-Length: ");
    if (cl != std::string::npos && cl < head_end) want = std::strtoull(out.c_str() + cl + 16, nullptr, 10);
    if (out.size() >= head_end + 4 + want) break;
  }
  return out;
}

std::string RawTls::protocol() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

std::string exchange(uint16_t port, const RawTlsOptions& options, std::string_view request) {
  RawTls c;
  if (!c.connect(port, options)) return "";
  if (!c.write(request)) return "";
  return c.read_response();
}

}  // namespace edgefed::testing
