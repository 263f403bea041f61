#include "bench_conn.hpp"

#include <openssl/ssl.h>

#include <boost/asio/post.hpp>

namespace edgefed::bench {

namespace beast = boost::beast;
namespace net = boost::asio;

BenchConn::BenchConn(net::io_context& ioc, net::ssl::context& ctx) : stream_(ioc, ctx) {}

void BenchConn::connect(const net::ip::tcp::endpoint& server, const Identity& id, std::chrono::seconds timeout,
                        Connected done) {
  SSL* ssl = stream_.native_handle();
  if (SSL_use_certificate(ssl, id.cert.get()) != 1 || SSL_use_PrivateKey(ssl, id.key.get()) != 1) {
    return net::post(stream_.get_executor(), [done] { done(net::error::invalid_argument); });
  }
  beast::get_lowest_layer(stream_).expires_after(timeout);
  beast::get_lowest_layer(stream_).async_connect(
      server, [self = shared_from_this(), done = std::move(done)](beast::error_code ec) mutable {
        if (ec) return done(ec);
        self->stream_.async_handshake(net::ssl::stream_base::client,
                                      [self, done = std::move(done)](beast::error_code e) { done(e); });
      });
}

void BenchConn::exchange(std::shared_ptr<Request> req, std::chrono::seconds timeout, Done done) {
  request_ = std::move(req);
  parser_.emplace();
  parser_->body_limit(512u << 20);
  beast::get_lowest_layer(stream_).expires_after(timeout);
  http::async_write(stream_, *request_,
                    [self = shared_from_this(), done = std::move(done)](beast::error_code ec, std::size_t) mutable {
                      if (ec) return done(ec, nullptr);
                      http::async_read(self->stream_, self->buffer_, *self->parser_,
                                       [self, done = std::move(done)](beast::error_code e, std::size_t) {
                                         done(e, e ? nullptr : &self->parser_->get());
                                       });
                    });
}

}  // namespace edgefed::bench
