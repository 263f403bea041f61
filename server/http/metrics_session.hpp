// A plain-HTTP connection of the optional --metrics-listen endpoint: serves
// GET /metrics, /healthz and /readyz through the Api and 404 otherwise, so
// Prometheus can scrape without a client certificate. Same session pattern,
// deadlines and limits as Session, without TLS.
#pragma once

#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/http/api.hpp"
#include "server/http/shared_body.hpp"

namespace edgefed::server::http {

class MetricsSession : public std::enable_shared_from_this<MetricsSession> {
 public:
  MetricsSession(boost::asio::ip::tcp::socket&& socket, Api& api);
  void run();

 private:
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t n);
  void send(ApiResponse response);
  void on_write(bool close, boost::beast::error_code ec, std::size_t n);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser_;
  std::shared_ptr<boost::beast::http::response<SharedBody>> response_;
  Api& api_;
};

}  // namespace edgefed::server::http
