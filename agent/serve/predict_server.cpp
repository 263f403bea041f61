#include "agent/serve/predict_server.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "agent/serve/predict_json.hpp"
#include "agent/serve/predictor.hpp"
#include "edgefed/log.hpp"

namespace edgefed::agent {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Proto = net::local::stream_protocol;
using Stream = beast::basic_stream<Proto, net::any_io_executor, beast::unlimited_rate_policy>;

struct PredictServer::Impl {
  Impl(PredictServerOptions o, const ServingModel& s, DriftMonitor* d) : options(std::move(o)), serving(s), drift(d) {}
  PredictServerOptions options;
  const ServingModel& serving;
  DriftMonitor* drift;
  Predictor predictor;  // the io thread's
  std::atomic<int64_t> requests{0};
  int connections = 0;  // the io thread's
  bool stopped = false;
  // Destroyed first (reverse order): the io_context's destructor destroys
  // the handlers still queued, and with them the sessions, which touch the
  // members above.
  net::io_context ioc{1};
  Proto::acceptor acceptor{ioc};
  std::thread thread;
};

namespace {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

Reply error_reply(const Status& st) { return {http_status_for(st.code()), error_body(st), "application/json"}; }

Reply handle(PredictServer::Impl& impl, const bhttp::request<bhttp::string_body>& req) {
  const std::string_view target = req.target();
  const std::string path(target.substr(0, target.find('?')));
  const auto method = req.method();
  if (path == "/healthz") {
    if (method != bhttp::verb::get) return error_reply(Status(Code::kMethodNotAllowed, "use GET"));
    return {200, "ok\n", "text/plain"};
  }
  if (path != "/v1/predict" && path != "/v1/model")
    return error_reply(Status(Code::kNotFound, "no such endpoint: this socket serves POST /v1/predict, "
                                               "GET /v1/model and GET /healthz"));
  const auto served = impl.serving.current();
  if (path == "/v1/model") {
    if (method != bhttp::verb::get) return error_reply(Status(Code::kMethodNotAllowed, "use GET"));
    if (!served) return error_reply(Status(Code::kUnavailable, "no model is served yet"));
    nlohmann::json j;
    j["version"] = served->validation.version;
    j["task"] = std::string(enum_name(served->spec.task()));
    j["model"] = served->spec.name();
    j["input_size"] = served->spec.input_size();
    j["output_size"] = served->spec.output_size();
    j["metric"] = to_string(served->validation.metric);
    j["value"] = served->validation.value;
    j["samples"] = served->validation.samples;
    j["installed_unix_ms"] = served->installed_unix_ms;
    return {200, j.dump()};
  }
  if (method != bhttp::verb::post) return error_reply(Status(Code::kMethodNotAllowed, "use POST"));
  if (!served)
    return error_reply(Status(Code::kUnavailable, "no model is served yet: no version has passed validation"));
  auto inputs = parse_predict_request(req.body(), served->spec.input_size(), impl.options.max_batch);
  if (!inputs) return error_reply(inputs.status());
  auto batch = impl.predictor.predict(*served, *inputs);
  if (!batch) return error_reply(batch.status());
  if (impl.drift && batch->version == served->validation.version)
    for (size_t i = 0; i < batch->rows.size(); ++i)
      impl.drift->observe(inputs->row(static_cast<int64_t>(i)).data(),
                          served->model.normalizer.empty() ? inputs->cols() : 0, batch->signal(i));
  return {200, predictions_json(*batch)};
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Proto::socket&& socket, PredictServer::Impl& impl) : stream_(std::move(socket)), impl_(impl) {
    ++impl_.connections;
  }
  ~Session() { --impl_.connections; }

  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(static_cast<uint64_t>(impl_.options.max_body_bytes));
    stream_.expires_after(std::chrono::milliseconds(impl_.options.idle_timeout_ms));
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

 private:
  void on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::body_limit) {
      return write(error_reply(Status(Code::kPayloadTooLarge, "request body over " +
                                                                  std::to_string(impl_.options.max_body_bytes) +
                                                                  " bytes")),
                   false);
    }
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted)
      return;
    if (ec) return write(error_reply(Status(Code::kInvalidArgument, "bad HTTP request: " + ec.message())), false);
    const auto& req = parser_->get();
    write(handle(impl_, req), req.keep_alive());
  }

  void write(Reply r, bool keep_alive) {
    ++impl_.requests;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), 11);
    res->set(bhttp::field::content_type, r.content_type);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(impl_.options.idle_timeout_ms));
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (!keep_alive) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(Proto::socket::shutdown_send, ignored);
        return;
      }
      self->read();
    });
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  PredictServer::Impl& impl_;
};

// `impl` is raw: a handler that owned it would keep it alive from its own
// io_context's queue.
void accept(PredictServer::Impl* impl) {
  impl->acceptor.async_accept([impl](beast::error_code ec, Proto::socket socket) {
    if (ec == net::error::operation_aborted || impl->stopped) return;
    if (!ec) {
      if (impl->connections >= impl->options.max_connections) {
        socket.close(ec);
      } else {
        std::make_shared<Session>(std::move(socket), *impl)->read();
      }
    }
    accept(impl);
  });
}

// A socket file left by an agent that was killed is replaced; a live one or
// any other kind of file is not.
Status clear_stale_socket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return Status::ok();
  if (!S_ISSOCK(st.st_mode))
    return Status(Code::kInvalidArgument, "--predict-socket " + path + " exists and is not a socket");
  net::io_context probe;
  Proto::socket s(probe);
  beast::error_code ec;
  s.connect(Proto::endpoint(path), ec);
  if (!ec) return Status(Code::kUnavailable, "--predict-socket " + path + " is in use by a running server");
  if (::unlink(path.c_str()) != 0)
    return Status(Code::kIo, "cannot remove the stale socket " + path + ": " + std::strerror(errno));
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<PredictServer>> PredictServer::start(PredictServerOptions options, const ServingModel& serving,
                                                            DriftMonitor* drift) {
  const std::string path = options.socket_path;
  if (path.empty()) return Status(Code::kInvalidArgument, "no socket path given");
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    return Status(Code::kInvalidArgument, "--predict-socket " + path + " is longer than " +
                                              std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  if (options.max_batch < 1 || options.max_body_bytes < 1024 || options.max_connections < 1 ||
      options.idle_timeout_ms < 1)
    return Status(Code::kInvalidArgument, "bad predict server limits");
  EDGEFED_RETURN_IF_ERROR(clear_stale_socket(path));
  auto impl = std::make_shared<Impl>(std::move(options), serving, drift);
  beast::error_code ec;
  impl->acceptor.open(Proto(), ec);
  if (!ec) impl->acceptor.bind(Proto::endpoint(path), ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status(Code::kIo, "cannot listen on " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0660);
  accept(impl.get());
  impl->thread = std::thread([impl_raw = impl.get()] { impl_raw->ioc.run(); });
  log::info("predict_socket_listening").kv("path", path);
  return std::unique_ptr<PredictServer>(new PredictServer(std::move(impl)));
}

PredictServer::PredictServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

PredictServer::~PredictServer() { stop(); }

void PredictServer::stop() {
  if (!impl_ || impl_->stopped) return;
  net::post(impl_->ioc, [impl = impl_.get()] {
    impl->stopped = true;
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->ioc.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->stopped = true;
  ::unlink(impl_->options.socket_path.c_str());
}

int64_t PredictServer::requests() const { return impl_->requests.load(); }
const std::string& PredictServer::path() const { return impl_->options.socket_path; }

}  // namespace edgefed::agent
