// Fuzzes HTTP request handling from bytes to response, without the socket:
// the bytes go through Beast's request parser with the session's limits, then
// through the same steps as Session (server/http/session.cpp): route match,
// Api::admit (route errors, authentication, rate limit), the route's body
// limit, Api::handle against a real Engine on a private SQLite state (model
// mlp:4-3-2), and the answer is checked. The first byte picks the TLS
// identity: anonymous, agent-001, the admin certificate, or agent-002.
// Oracles: every request parsed completely gets exactly one answer within
// 10 s, with a status in 200..599; every 4xx/5xx carries the JSON error
// shape {"error":{"code":...,"message":...}}.
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>
#include <thread>

#include "fuzz_common.hpp"
#include "server/engine/engine.hpp"
#include "server/http/api.hpp"
#include "server/http/http_metrics.hpp"

using namespace edgefed;
using namespace edgefed::server;
using namespace edgefed::server::http;
using fuzz::bug;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

struct Harness {
  std::string dir;
  HttpOptions options;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<Engine> engine;
  std::unique_ptr<HttpMetrics> metrics;
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(ioc);
  std::thread io_thread;
  net::thread_pool workers{1};
  std::unique_ptr<Api> api;

  Harness() {
    const char* base = std::getenv("TMPDIR");
    dir = std::string(base && *base ? base : "/tmp") + "/edgefed-fuzz-http-XXXXXX";
    if (!mkdtemp(dir.data())) std::abort();
    EngineOptions e;
    e.state_dir = dir;
    e.model_init = "mlp:4-3-2";
    e.fsync_full = false;
    e.buffer_k = 4;
    e.max_staleness = 1000000;
    auto opened = Engine::open(e, registry);
    if (!opened) bug("engine did not open");
    engine = std::move(opened).value();
    options.admin_token = "fuzz-admin-token-0123456789";
    options.rate_limit_rps = 0;  // stateless per input
    options.max_long_poll_s = 0.05;
    options.header_limit = 8192;
    options.json_body_limit = 64 * 1024;
    options.admin_body_limit = 64 * 1024;
    metrics = std::make_unique<HttpMetrics>(*registry);
    api = std::make_unique<Api>(options, *engine, registry, *metrics, ioc, workers);
    io_thread = std::thread([this] { ioc.run(); });
  }
  ~Harness() {
    api->begin_drain();
    workers.join();
    guard.reset();
    ioc.stop();
    io_thread.join();
    api.reset();
    engine.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Harness& harness() {
  static Harness* h = new Harness();  // lives for the process: no exit-time teardown races
  return *h;
}

PeerIdentity identity(uint8_t which) {
  PeerIdentity p;
  p.remote = "127.0.0.1:1";
  switch (which % 5) {
    case 0: break;
    case 1: p = {true, "agent-001", "agent", p.remote}; break;
    case 2: p = {true, "admin", "admin", p.remote}; break;
    case 3: p = {true, "agent-002", "agent", p.remote}; break;
    case 4: p = {true, "viewer", "viewer", p.remote}; break;
  }
  return p;
}

void check(const ApiResponse& r) {
  if (r.status < 200 || r.status > 599) bug("status outside 200..599");
  if (r.status < 400) return;
  if (!r.body) bug("an error without a body");
  const auto j = nlohmann::json::parse(*r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error") || !j["error"].is_object() || !j["error"].contains("code") ||
      !j["error"]["code"].is_string() || !j["error"].contains("message"))
    bug("an error body without the JSON error shape");
}

// Sends `r` through Api::refuse or collects the answer of Api::handle.
ApiResponse wait_for(std::future<ApiResponse>& f) {
  if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) bug("no answer within 10 s");
  return f.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Harness& h = harness();
  const PeerIdentity peer = identity(data[0]);
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(h.options.header_limit));
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.eager(false);
  boost::beast::error_code ec;
  auto refuse = [&](const Status& st) {
    check(ApiResponse::error(st));
    return 0;
  };
  // Session::on_read_header: the head, at most header_limit bytes.
  const size_t used = parser.put(net::buffer(bytes, left), ec);
  if (ec == bhttp::error::need_more) return 0;  // the client would still be sending
  if (ec == bhttp::error::header_limit) return refuse(Status(Code::kPayloadTooLarge, "header"));
  if (ec) return refuse(Status(Code::kInvalidArgument, "malformed HTTP request: " + ec.message()));
  if (!parser.is_header_done()) bug("no error, no header");
  bytes += used;
  left -= used;

  const auto& head = parser.get();
  ApiRequest req;
  req.method = std::string(head.method_string());
  req.target = std::string(head.target());
  req.route = match_route(req.method, req.target);
  req.if_none_match = std::string(head[bhttp::field::if_none_match]);
  req.authorization = std::string(head[bhttp::field::authorization]);
  req.content_type = std::string(head[bhttp::field::content_type]);
  req.peer = peer;
  Principal who;
  if (auto refusal = h.api->admit(req, who)) {
    check(*refusal);
    return 0;
  }
  // Session::on_read_header / do_read_body: the route's body limit.
  const uint64_t limit = h.api->body_limit(req.route.body);
  if (const auto len = parser.content_length(); len && *len > limit)
    return refuse(Status(Code::kPayloadTooLarge, "body"));
  parser.body_limit(limit);
  parser.eager(true);
  while (!parser.is_done() && left > 0) {
    const size_t n = parser.put(net::buffer(bytes, left), ec);
    if (ec == bhttp::error::need_more) break;
    if (ec == bhttp::error::body_limit) return refuse(Status(Code::kPayloadTooLarge, "body"));
    if (ec) return refuse(Status(Code::kInvalidArgument, "malformed HTTP request: " + ec.message()));
    if (n == 0) break;
    bytes += n;
    left -= n;
  }
  if (!parser.is_done()) return 0;  // an incomplete body: the session would time out

  req.body = std::make_shared<const RequestBody>(parser.get().body());
  auto promise = std::make_shared<std::promise<ApiResponse>>();
  auto answer = promise->get_future();
  h.api->handle(std::move(req), std::move(who), [promise](ApiResponse r) { promise->set_value(std::move(r)); });
  check(wait_for(answer));
  return 0;
}
