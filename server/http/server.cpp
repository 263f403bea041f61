#include "server/http/server.hpp"

#include <pthread.h>

#include <csignal>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "edgefed/log.hpp"
#include "edgefed/tls.hpp"
#include "server/http/api.hpp"
#include "server/http/listener.hpp"
#include "server/http/metrics_session.hpp"
#include "server/http/session.hpp"

namespace edgefed::server::http {

namespace net = boost::asio;

namespace {
int default_threads(int requested) {
  if (requested > 0) return requested;
  return std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
}
// Workers mostly wait for the engine's group commit: more waiting callers
// make bigger groups (measured: 2 workers 172/s, 8 workers 332/s of 400 KB
// updates on 2 cores; 16: 379/s). With 10,000 connections the telemetry
// posts of idle agents (~1,000/s) held all 16 workers and the pushes of the
// 100 active agents queued behind them (p99 1.6 s, 65 pushes/s; with 64
// workers 0.67 s, 91/s). A waiting worker costs a stack and no CPU, so
// default to 32 per CPU, at least 64.
int default_workers(int requested) {
  if (requested > 0) return requested;
  return std::max(64, 32 * static_cast<int>(std::thread::hardware_concurrency()));
}
}  // namespace

struct Server::Impl {
  Impl(const HttpOptions& o, net::ssl::context&& ctx, Engine& engine, std::shared_ptr<prometheus::Registry> registry,
       SecAggService* secagg)
      : options(o),
        ssl(std::move(ctx)),
        ioc(default_threads(o.io_threads)),
        workers(static_cast<std::size_t>(default_workers(o.worker_threads))),
        metrics(*registry),
        api(options, engine, std::move(registry), metrics, ioc, workers, secagg),
        work(net::make_work_guard(ioc)) {}

  HttpOptions options;
  net::ssl::context ssl;
  net::io_context ioc;
  net::thread_pool workers;
  HttpMetrics metrics;
  Api api;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::shared_ptr<std::atomic<int64_t>> open_connections = std::make_shared<std::atomic<int64_t>>(0);
  std::shared_ptr<Listener> listener;
  std::shared_ptr<Listener> metrics_listener;
  std::vector<std::thread> threads;
  bool stopped = false;

  void accept_tls(net::ip::tcp::socket&& socket) {
    if (open_connections->load() >= options.max_connections) {
      metrics.refused("max_connections");
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    ++*open_connections;
    std::make_shared<Session>(std::move(socket), ssl, api, open_connections)->run();
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::start(const HttpOptions& options, Engine& engine,
                                              std::shared_ptr<prometheus::Registry> registry,
                                              SecAggService* secagg) {
  // OpenSSL writes the sessions' sockets with write(2) (TlsStream): a peer
  // that hung up must be an EPIPE, not a signal that ends the process.
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(options, make_server_context(options.tls), engine, std::move(registry), secagg);
  } catch (const std::exception& e) {
    return Status(Code::kInvalidArgument, e.what());
  }
  Impl* im = impl.get();
  im->listener = std::make_shared<Listener>(im->ioc, [im](net::ip::tcp::socket&& s) { im->accept_tls(std::move(s)); });
  EDGEFED_RETURN_IF_ERROR(im->listener->open(options.listen_host, options.listen_port));
  if (options.metrics_listen) {
    im->metrics_listener = std::make_shared<Listener>(im->ioc, [im](net::ip::tcp::socket&& s) {
      std::make_shared<MetricsSession>(std::move(s), im->api)->run();
    });
    EDGEFED_RETURN_IF_ERROR(im->metrics_listener->open(options.metrics_host, options.metrics_port));
    im->metrics_listener->run();
  }
  im->listener->run();
  const int n = default_threads(options.io_threads);
  for (int i = 0; i < n; ++i) {
    im->threads.emplace_back([im] {
      pthread_setname_np(pthread_self(), "edgefed-io");
      for (;;) {
        try {
          im->ioc.run();
          return;
        } catch (const std::exception& e) {
          // Handlers do not throw by design; if one does, log and go on.
          log::error("io_thread_exception").kv("what", e.what());
        }
      }
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->listener->port(); }
uint16_t Server::metrics_port() const { return impl_->metrics_listener ? impl_->metrics_listener->port() : 0; }

int64_t Server::drain() {
  Impl& im = *impl_;
  im.listener->stop();
  if (im.metrics_listener) im.metrics_listener->stop();
  im.api.begin_drain();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(im.options.shutdown_grace_s * 1000));
  while (im.api.in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Let the last answers reach their sockets.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return im.api.in_flight();
}

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->workers.join();
}

}  // namespace edgefed::server::http
