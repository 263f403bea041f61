// Accepts TCP connections on one endpoint and hands each socket, on its own
// strand, to a callback (which makes a Session or a MetricsSession).
// Thread-safe: stop() may be called from any thread.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "edgefed/status.hpp"

namespace edgefed::server::http {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket&&)>;

  Listener(boost::asio::io_context& ioc, OnAccept on_accept);

  // Binds and listens; kUnavailable with the OS reason on failure.
  Status open(const std::string& host, uint16_t port);
  // The bound port (useful after binding port 0).
  uint16_t port() const { return port_; }
  void run();
  // Closes the acceptor: no new connections.
  void stop();

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer pause_;  // after an accept error (EMFILE)
  OnAccept on_accept_;
  uint16_t port_ = 0;
};

}  // namespace edgefed::server::http
