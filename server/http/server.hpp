// The HTTPS front end as one object: TLS context, io_context and its
// threads, the worker pool for blocking engine calls, the listeners and the
// Api. main() owns one; integration tests run the real binary instead.
//
//   auto server = Server::start(options, *engine, registry);  // binds, runs
//   ... server->port() ...
//   server->drain();   // stop accepting, wait for in-flight requests
//   engine->shutdown();
//   server->stop();    // stop threads
//
// Thread safety: drain() and stop() are called from one controlling thread.
#pragma once

#include <memory>

#include "edgefed/status.hpp"
#include "server/engine/engine.hpp"
#include "server/http/http_options.hpp"

namespace edgefed::server {
class SecAggService;
}  // namespace edgefed::server

namespace edgefed::server::http {

class Server {
 public:
  // Builds the TLS context (kInvalidArgument with the reason for bad cert,
  // key or CA files), binds the listeners (kUnavailable when the address is
  // taken) and starts the threads. The engine must outlive the server.
  // `secagg` (null = secure aggregation off) must outlive the server too.
  static Result<std::unique_ptr<Server>> start(const HttpOptions& options, Engine& engine,
                                               std::shared_ptr<prometheus::Registry> registry,
                                               SecAggService* secagg = nullptr);
  ~Server();  // stop()

  uint16_t port() const;
  uint16_t metrics_port() const;  // 0 without --metrics-listen

  // Stops accepting, answers pending long polls, and waits until every
  // request in flight was answered or shutdown_grace_s passed. Returns the
  // number of requests still in flight (0 normally).
  int64_t drain();
  // Stops the io_context and joins all threads. Idempotent.
  void stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgefed::server::http
