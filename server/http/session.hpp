// One HTTPS connection (Beast's async session pattern): TLS handshake, then
// a loop of  wait for a request (idle deadline) -> read the header (total
// header deadline) -> admit (route, auth, rate limit) -> read the body (route
// body limit, body deadline) -> Api::handle -> write (write deadline).
// Runs on its own strand; other threads reach it only by posting to it. Lives
// as long as an operation or a pending Api answer holds a shared_ptr to it.
// Requests are not pipelined: one in flight per connection.
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/http/api.hpp"
#include "server/http/shared_body.hpp"
#include "server/http/tls_stream.hpp"

namespace edgefed::server::http {

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `open_connections` is decremented when the session ends.
  Session(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context& ctx, Api& api,
          std::shared_ptr<std::atomic<int64_t>> open_connections);
  ~Session();

  void run();

 private:
  using Stream = TlsStream;
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<SharedBody>;

  void on_run();
  void on_handshake(boost::beast::error_code ec);
  void do_wait();
  void on_wait(boost::beast::error_code ec, std::size_t n);
  void do_read_header();
  void on_read_header(boost::beast::error_code ec, std::size_t n);
  void on_continue(boost::beast::error_code ec, std::size_t n);
  void do_read_body();
  void on_read_body(boost::beast::error_code ec, std::size_t n);
  void on_read_direct_body(boost::beast::error_code ec, std::size_t n);
  void send(ApiResponse response);
  void on_write(bool close, boost::beast::error_code ec, std::size_t n);
  void do_drain();
  void do_close();
  void on_shutdown(boost::beast::error_code ec);
  // A read failed: answer what can be answered (413, 400), else just close.
  void read_failed(boost::beast::error_code ec, const char* phase);
  Responder responder();

  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::shared_ptr<RequestBody> direct_body_;  // a body of known length being read
  std::shared_ptr<Response> response_;
  Api& api_;
  std::shared_ptr<std::atomic<int64_t>> open_connections_;
  PeerIdentity peer_;
  ApiRequest request_;
  Principal principal_;
  bool body_unread_ = false;  // a refusal is sent before the body: close after
  uint64_t drained_ = 0;
  // Update body bytes claimed from the Api's in-flight bound for the current
  // request; returned when its answer is sent or the session ends.
  uint64_t claimed_update_bytes_ = 0;
  void release_claim();
};

}  // namespace edgefed::server::http
