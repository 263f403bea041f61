// One asynchronous keep-alive HTTPS connection (Beast over Asio, TLS 1.3)
// presenting its own client certificate. Single-threaded use: all calls and
// callbacks run on the io_context given at construction. A failed exchange
// leaves the connection unusable; make a new one.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "cert_forge.hpp"

namespace edgefed::bench {

namespace http = boost::beast::http;

class BenchConn : public std::enable_shared_from_this<BenchConn> {
 public:
  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;
  using Connected = std::function<void(boost::beast::error_code)>;
  // response is null on error.
  using Done = std::function<void(boost::beast::error_code, const Response* response)>;

  BenchConn(boost::asio::io_context& ioc, boost::asio::ssl::context& ctx);

  // TCP connect + TLS handshake with the identity's certificate.
  void connect(const boost::asio::ip::tcp::endpoint& server, const Identity& id, std::chrono::seconds timeout,
               Connected done);
  // Writes req and reads one response within timeout.
  void exchange(std::shared_ptr<Request> req, std::chrono::seconds timeout, Done done);

 private:
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<Request> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

}  // namespace edgefed::bench
