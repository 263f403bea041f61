#include "server/http/listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "edgefed/log.hpp"

namespace edgefed::server::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Listener::Listener(net::io_context& ioc, OnAccept on_accept)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), pause_(acceptor_.get_executor()), on_accept_(std::move(on_accept)) {}

Status Listener::open(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return Status(Code::kInvalidArgument, "bad listen address '" + host + "': " + ec.message());
  const tcp::endpoint endpoint(address, port);
  const std::string where = host + ":" + std::to_string(port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status(Code::kUnavailable, "cannot listen on " + where + ": " + ec.message());
  port_ = acceptor_.local_endpoint(ec).port();
  return Status::ok();
}

void Listener::run() { net::post(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); }); }

void Listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void Listener::do_accept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(net::make_strand(ioc_), boost::beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // EMFILE and friends: pause briefly instead of spinning.
    log::warn("accept_failed").kv("error", ec.message());
    pause_.expires_after(std::chrono::milliseconds(100));
    pause_.async_wait([self = shared_from_this()](boost::system::error_code) { self->do_accept(); });
    return;
  } else {
    on_accept_(std::move(socket));
  }
  do_accept();
}

}  // namespace edgefed::server::http
