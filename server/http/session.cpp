#include "server/http/session.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>

#include "edgefed/log.hpp"
#include "edgefed/tls.hpp"

namespace edgefed::server::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;

namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

constexpr uint64_t kDrainCapBytes = 64u << 20;  // read at most this much of a refused body
constexpr double kDrainSeconds = 5.0;
constexpr std::size_t kIdleBufferBytes = 16 * 1024;

}  // namespace

Session::Session(net::ip::tcp::socket&& socket, ssl::context& ctx, Api& api,
                 std::shared_ptr<std::atomic<int64_t>> open_connections)
    : stream_(std::move(socket), ctx), api_(api), open_connections_(std::move(open_connections)) {
  api_.metrics().connection_opened();
}

Session::~Session() {
  release_claim();
  api_.metrics().connection_closed();
  --*open_connections_;
}

void Session::run() {
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::on_run, shared_from_this()));
}

void Session::on_run() {
  boost::system::error_code ec;
  const auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) peer_.remote = ep.address().to_string() + ":" + std::to_string(ep.port());
  stream_.expires_after(ms(api_.options().handshake_timeout_s));
  stream_.async_handshake(beast::bind_front_handler(&Session::on_handshake, shared_from_this()));
}

void Session::on_handshake(beast::error_code ec) {
  if (ec) {
    api_.metrics().refused("tls_handshake");
    log::debug("tls_handshake_failed").kv("remote", peer_.remote).kv("error", ec.message());
    return;
  }
  SSL* ssl = stream_.native_handle();
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert && SSL_get_verify_result(ssl) == X509_V_OK) {
    peer_.has_cert = true;
    peer_.common_name = certificate_common_name(cert);
    peer_.org_unit = certificate_organizational_unit(cert);
  }
  do_wait();
}

void Session::do_wait() {
  if (buffer_.size() > 0) return do_read_header();
  // An idle connection (most of a large fleet's, long-polling) keeps only a
  // small read buffer, not the largest request it has seen.
  if (buffer_.capacity() > kIdleBufferBytes) buffer_.shrink_to_fit();
  stream_.expires_after(ms(api_.options().idle_timeout_s));
  stream_.async_read_some(buffer_.prepare(4096), beast::bind_front_handler(&Session::on_wait, shared_from_this()));
}

void Session::on_wait(beast::error_code ec, std::size_t n) {
  if (ec) return;  // idle timeout, EOF or reset: the connection simply ends
  buffer_.commit(n);
  do_read_header();
}

void Session::do_read_header() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(api_.options().header_limit));
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // checked per route below
  stream_.expires_after(ms(api_.options().header_timeout_s));
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::on_read_header, shared_from_this()));
}

void Session::on_read_header(beast::error_code ec, std::size_t) {
  if (ec) return read_failed(ec, "header");
  const auto& h = parser_->get();
  request_ = ApiRequest{};
  request_.method = std::string(h.method_string());
  request_.target = std::string(h.target());
  request_.route = match_route(request_.method, request_.target);
  request_.if_none_match = std::string(h[bhttp::field::if_none_match]);
  request_.authorization = std::string(h[bhttp::field::authorization]);
  request_.content_type = std::string(h[bhttp::field::content_type]);
  request_.peer = peer_;
  body_unread_ = !parser_->is_done();
  const std::string_view label = request_.route.label;
  if (auto refusal = api_.admit(request_, principal_)) {
    if (body_unread_) refusal->close = true;
    return api_.refuse(label, std::move(*refusal), responder());
  }
  const uint64_t limit = api_.body_limit(request_.route.body);
  if (const auto len = parser_->content_length(); len && *len > limit) {
    ApiResponse r = ApiResponse::error(Status(Code::kPayloadTooLarge, "body of " + std::to_string(*len) +
                                                                          " bytes is over the limit of " +
                                                                          std::to_string(limit) + " bytes"));
    r.close = true;
    return api_.refuse(label, std::move(r), responder());
  }
  parser_->body_limit(limit);
  if (request_.route.body == BodyClass::kUpdate && body_unread_) {
    const uint64_t bytes = parser_->content_length().value_or(limit);
    if (!api_.claim_update_bytes(bytes)) {
      ApiResponse r = ApiResponse::error(
          Status(Code::kUnavailable, "the server is receiving as many update bytes as it may hold; retry later"));
      r.close = true;
      return api_.refuse(label, std::move(r), responder());
    }
    claimed_update_bytes_ = bytes;
  }
  if (body_unread_ && beast::iequals(h[bhttp::field::expect], "100-continue")) {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, h.version());
    stream_.expires_after(ms(api_.options().write_timeout_s));
    return bhttp::async_write(stream_, *cont,
                              [self = shared_from_this(), cont](beast::error_code e, std::size_t n) {
                                self->on_continue(e, n);
                              });
  }
  do_read_body();
}

void Session::on_continue(beast::error_code ec, std::size_t) {
  if (ec) return;
  do_read_body();
}

void Session::do_read_body() {
  if (parser_->is_done()) return on_read_body({}, 0);
  stream_.expires_after(ms(api_.options().body_timeout_s));
  if (const auto len = parser_->content_length(); len && !parser_->chunked()) {
    // A known length (every agent's upload): read straight into the body's
    // final buffer, past Beast's parser, instead of through buffer_ into a
    // zero-filled string. What the header read already took from the socket
    // comes first. *len is within the route's limit (checked above).
    const auto size = static_cast<std::size_t>(*len);
    direct_body_ = std::make_shared<RequestBody>(RequestBody::uninitialized(size));
    const std::size_t have = std::min(buffer_.size(), size);
    net::buffer_copy(net::buffer(direct_body_->mutable_data(), have), buffer_.data(), have);
    buffer_.consume(have);
    return net::async_read(stream_, net::buffer(direct_body_->mutable_data() + have, size - have),
                           beast::bind_front_handler(&Session::on_read_direct_body, shared_from_this()));
  }
  bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read_body, shared_from_this()));
}

void Session::on_read_direct_body(beast::error_code ec, std::size_t) {
  if (ec) {
    direct_body_.reset();
    return read_failed(ec, "body");
  }
  body_unread_ = false;
  stream_.expires_never();
  request_.body = std::move(direct_body_);
  api_.handle(std::move(request_), std::move(principal_), responder());
}

void Session::on_read_body(beast::error_code ec, std::size_t) {
  if (ec) return read_failed(ec, "body");
  body_unread_ = false;
  stream_.expires_never();
  request_.body = std::make_shared<const RequestBody>(parser_->get().body());
  api_.handle(std::move(request_), std::move(principal_), responder());
}

void Session::read_failed(beast::error_code ec, const char* phase) {
  release_claim();
  if (ec == beast::error::timeout) {
    api_.metrics().refused("timeout");
    log::debug("request_timeout").kv("remote", peer_.remote).kv("phase", phase);
    return;  // the socket is closed already
  }
  Status st;
  if (ec == bhttp::error::header_limit) {
    st = Status(Code::kPayloadTooLarge, "request header over " + std::to_string(api_.options().header_limit) + " bytes");
  } else if (ec == bhttp::error::body_limit) {
    st = Status(Code::kPayloadTooLarge, "request body over the limit");
  } else if (ec.category() == beast::error_code(bhttp::error::bad_method).category() && ec != bhttp::error::end_of_stream &&
             ec != bhttp::error::partial_message) {
    st = Status(Code::kInvalidArgument, std::string("malformed HTTP request: ") + ec.message());
  } else {
    return;  // EOF, reset, truncation: nothing to answer
  }
  body_unread_ = true;
  ApiResponse r = ApiResponse::error(st);
  r.close = true;
  api_.refuse(std::string_view(phase) == "body" ? request_.route.label : "unknown", std::move(r), responder());
}

Responder Session::responder() {
  return [self = shared_from_this()](ApiResponse r) {
    net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
  };
}

void Session::release_claim() {
  if (claimed_update_bytes_ == 0) return;
  api_.release_update_bytes(claimed_update_bytes_);
  claimed_update_bytes_ = 0;
}

void Session::send(ApiResponse r) {
  release_claim();  // the handler is done with the body
  auto res = std::make_shared<Response>(static_cast<bhttp::status>(r.status), 11);
  res->set(bhttp::field::server, "edgefed");
  if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res->set(k, v);
  res->body() = std::move(r.body);
  const bool keep_alive = parser_ && parser_->get().keep_alive();
  const bool close = r.close || body_unread_ || !keep_alive || api_.draining();
  res->keep_alive(!close);
  res->prepare_payload();
  response_ = std::move(res);
  stream_.expires_after(ms(api_.options().write_timeout_s));
  bhttp::async_write(stream_, *response_, beast::bind_front_handler(&Session::on_write, shared_from_this(), close));
}

void Session::on_write(bool close, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) return;
  if (!close) return do_wait();
  if (body_unread_) return do_drain();
  do_close();
}

void Session::do_drain() {
  // Read and discard what the client still sends of a refused body, so it
  // gets to read the answer instead of a reset; bounded in bytes and time.
  if (drained_ == 0) stream_.expires_after(ms(kDrainSeconds));
  buffer_.consume(buffer_.size());
  stream_.async_read_some(buffer_.prepare(64 * 1024),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->drained_ += n;
                            if (ec || self->drained_ > kDrainCapBytes) return;
                            self->do_drain();
                          });
}

void Session::do_close() {
  stream_.expires_after(ms(api_.options().handshake_timeout_s));
  stream_.async_shutdown(beast::bind_front_handler(&Session::on_shutdown, shared_from_this()));
}

void Session::on_shutdown(beast::error_code) {
  // The socket closes when the session is destroyed.
}

}  // namespace edgefed::server::http
