#include "server/http/metrics_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace edgefed::server::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

MetricsSession::MetricsSession(net::ip::tcp::socket&& socket, Api& api) : stream_(std::move(socket)), api_(api) {}

void MetricsSession::run() {
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&MetricsSession::do_read, shared_from_this()));
}

void MetricsSession::do_read() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(api_.options().header_limit));
  parser_->body_limit(0);
  stream_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(api_.options().header_timeout_s * 1000)));
  bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&MetricsSession::on_read, shared_from_this()));
}

void MetricsSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) return;  // timeout, EOF, malformed: just close
  ApiRequest req;
  req.method = std::string(parser_->get().method_string());
  req.target = std::string(parser_->get().target());
  req.route = match_route(req.method, req.target);
  req.body = std::make_shared<const RequestBody>();
  const RouteId id = req.route.id;
  auto self = shared_from_this();
  Responder respond = [self](ApiResponse r) {
    net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
  };
  const bool status_ok = api_.options().status_on_metrics_port &&
                         api_.options().status_anonymous != StatusAnonymous::kNone &&
                         (id == RouteId::kStatus || id == RouteId::kIndex);
  if (req.route.error.is_ok() && id != RouteId::kMetrics && id != RouteId::kHealthz && id != RouteId::kReadyz &&
      !status_ok) {
    req.route.error = Status(Code::kNotFound, "this endpoint serves /metrics, /healthz and /readyz only");
  }
  if (!req.route.error.is_ok()) return api_.refuse("unknown", ApiResponse::error(req.route.error), respond);
  // Callers here are anonymous (plain HTTP, no credentials): the status
  // routes show what --status-anonymous allows them.
  Principal anonymous;
  anonymous.who = "anonymous";
  anonymous.full_status = api_.options().status_anonymous == StatusAnonymous::kFull;
  api_.handle(std::move(req), std::move(anonymous), std::move(respond));
}

void MetricsSession::send(ApiResponse r) {
  auto res = std::make_shared<bhttp::response<SharedBody>>(static_cast<bhttp::status>(r.status), 11);
  res->set(bhttp::field::server, "edgefed");
  if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
  res->body() = std::move(r.body);
  const bool close = !parser_->get().keep_alive();
  res->keep_alive(!close);
  res->prepare_payload();
  response_ = std::move(res);
  stream_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(api_.options().write_timeout_s * 1000)));
  bhttp::async_write(stream_, *response_,
                     beast::bind_front_handler(&MetricsSession::on_write, shared_from_this(), close));
}

void MetricsSession::on_write(bool close, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) return;
  if (close) {
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    return;
  }
  do_read();
}

}  // namespace edgefed::server::http
