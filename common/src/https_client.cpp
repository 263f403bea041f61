#include "edgefed/https_client.hpp"

#include <openssl/ssl.h>

#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace edgefed {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SslStream = beast::ssl_stream<beast::tcp_stream>;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

Status io_error(std::string_view what, const boost::system::error_code& ec) {
  if (ec.category() == net::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED)
    return Status(Code::kUnauthenticated, std::string(what) + ": server certificate not trusted (" + ec.message() + ")");
  if (ec == http::error::body_limit)
    return Status(Code::kPayloadTooLarge, std::string(what) + ": response body over the limit");
  return Status(Code::kUnavailable, std::string(what) + ": " + ec.message());
}

}  // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

struct HttpsClient::Impl {
  HttpsClientOptions options;
  std::shared_ptr<ssl::context> ctx;
  net::io_context ioc{1};
  std::optional<SslStream> stream;
  beast::flat_buffer buffer;
  int64_t opened = 0;
  bool reused = false;  // the stream has served a request already

  // Runs the io_context until the started operation completes; the deadline
  // set on the tcp_stream bounds it.
  template <typename Start>
  boost::system::error_code run(Start&& start) {
    boost::system::error_code result = net::error::would_block;
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void drop() {
    if (stream) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(*stream).socket().close(ignored);
      stream.reset();
    }
    buffer.clear();
    reused = false;
  }

  Status open() {
    drop();
    const std::string name = options.server_name.empty() ? options.host : options.server_name;
    tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    const auto endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec) return Status(Code::kUnavailable, "resolve " + options.host + ": " + ec.message());
    stream.emplace(ioc, *ctx);
    auto& tcp_layer = beast::get_lowest_layer(*stream);
    tcp_layer.expires_after(options.connect_timeout);
    ec = run([&](auto handler) { tcp_layer.async_connect(endpoints, std::move(handler)); });
    if (ec) {
      drop();
      return io_error("connect " + options.host + ":" + std::to_string(options.port), ec);
    }
    tcp_layer.socket().set_option(tcp::no_delay(true), ec);
    if (!is_ip_literal(name) && !SSL_set_tlsext_host_name(stream->native_handle(), name.c_str())) {
      drop();
      return Status(Code::kInvalidArgument, "cannot set SNI to " + name);
    }
    stream->set_verify_mode(ssl::verify_peer);
    stream->set_verify_callback(ssl::host_name_verification(name));
    tcp_layer.expires_after(options.handshake_timeout);
    ec = run([&](auto handler) { stream->async_handshake(ssl::stream_base::client, std::move(handler)); });
    if (ec) {
      drop();
      return io_error("TLS handshake with " + name, ec);
    }
    ++opened;
    return Status::ok();
  }

  // One attempt; `sent_any` tells whether a response byte was received.
  Result<HttpResponse> exchange(const http::request<http::string_body>& req, std::chrono::milliseconds timeout,
                                bool& got_response_bytes) {
    got_response_bytes = false;
    auto& tcp_layer = beast::get_lowest_layer(*stream);
    tcp_layer.expires_after(timeout);
    auto ec = run([&](auto handler) { http::async_write(*stream, req, std::move(handler)); });
    if (ec) {
      drop();
      return io_error("send request", ec);
    }
    std::optional<http::response_parser<http::string_body>> parser;
    for (;;) {  // skip interim 1xx answers (100 Continue)
      parser.emplace();
      parser->body_limit(options.max_response_bytes);
      parser->header_limit(64 * 1024);
      if (req.method() == http::verb::head) parser->skip(true);
      const size_t before = buffer.size();
      ec = run([&](auto handler) { http::async_read(*stream, buffer, *parser, std::move(handler)); });
      got_response_bytes = got_response_bytes || parser->got_some() || buffer.size() > before;
      if (ec) {
        drop();
        return io_error("read response", ec);
      }
      const unsigned status = parser->get().result_int();
      if (status < 100 || status >= 200 || status == 101) break;
    }
    tcp_layer.expires_never();
    auto msg = parser->release();
    HttpResponse out;
    out.status = static_cast<int>(msg.result_int());
    for (const auto& field : msg) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    out.body = std::move(msg.body());
    if (msg.need_eof() || !msg.keep_alive()) {
      close_gracefully();
    } else {
      reused = true;
    }
    return out;
  }

  void close_gracefully() {
    if (!stream) return;
    beast::get_lowest_layer(*stream).expires_after(options.handshake_timeout);
    run([&](auto handler) { stream->async_shutdown(std::move(handler)); });
    drop();
  }
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() {
  if (impl_) impl_->drop();
}

Result<std::shared_ptr<boost::asio::ssl::context>> HttpsClient::make_context(const ClientTlsOptions& tls) {
  try {
    return std::make_shared<ssl::context>(make_client_context(tls));
  } catch (const std::exception& e) {
    return Status(Code::kInvalidArgument, e.what());
  }
}

Result<std::unique_ptr<HttpsClient>> HttpsClient::create(const HttpsClientOptions& options) {
  auto ctx = make_context(options.tls);
  if (!ctx) return ctx.status();
  return create_shared(options, std::move(ctx).value());
}

std::unique_ptr<HttpsClient> HttpsClient::create_shared(const HttpsClientOptions& options,
                                                        std::shared_ptr<boost::asio::ssl::context> ssl_context) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->ctx = std::move(ssl_context);
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
}

Result<HttpResponse> HttpsClient::request(std::string_view method, std::string_view target, std::string_view body,
                                          std::string_view content_type, const HttpHeaders& headers,
                                          std::chrono::milliseconds timeout) {
  try {
    Impl& im = *impl_;
    const http::verb verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) return Status(Code::kInvalidArgument, "unknown HTTP method");
    http::request<http::string_body> req{verb, target, 11};
    const std::string name = im.options.server_name.empty() ? im.options.host : im.options.server_name;
    req.set(http::field::host, name + ":" + std::to_string(im.options.port));
    req.set(http::field::user_agent, im.options.user_agent);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || verb == http::verb::post || verb == http::verb::put) {
      if (!content_type.empty() && req.find(http::field::content_type) == req.end())
        req.set(http::field::content_type, content_type);
      req.body().assign(body.data(), body.size());
    }
    req.keep_alive(true);
    req.prepare_payload();
    const auto deadline = timeout.count() > 0 ? timeout : im.options.request_timeout;

    for (int attempt = 0;; ++attempt) {
      if (!im.stream) EDGEFED_RETURN_IF_ERROR(im.open());
      const bool was_reused = im.reused;
      bool got_bytes = false;
      auto result = im.exchange(req, deadline, got_bytes);
      if (result || attempt > 0 || !was_reused || got_bytes || !im.options.retry_stale_connection) return result;
      // A reused connection died before answering: reconnect and resend once.
    }
  } catch (const std::exception& e) {
    impl_->drop();
    return Status(Code::kInternal, std::string("https client: ") + e.what());
  }
}

Status HttpsClient::connect() {
  if (impl_->stream) return Status::ok();
  return impl_->open();
}

void HttpsClient::close() { impl_->close_gracefully(); }
bool HttpsClient::connected() const { return impl_->stream.has_value(); }
int64_t HttpsClient::connections_opened() const { return impl_->opened; }

}  // namespace edgefed
