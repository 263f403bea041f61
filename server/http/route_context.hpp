// What the route handler classes (AgentRoutes, AdminRoutes, InfoRoutes)
// share: the options, the engine, the worker pool that runs blocking calls,
// and the drain flag set when the server shuts down. Api owns one.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <functional>

#include "server/engine/engine.hpp"
#include "server/http/api_types.hpp"
#include "server/http/http_options.hpp"

namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace edgefed::server::http {

class RouteContext {
 public:
  // All references must outlive the context.
  RouteContext(const HttpOptions& options, Engine& engine, boost::asio::thread_pool& workers)
      : options_(options), engine_(engine), workers_(workers) {}

  const HttpOptions& options() const { return options_; }
  Engine& engine() const { return engine_; }

  // Runs `work` on the worker pool and answers with its result; exceptions
  // become a 500 JSON error. For anything that decodes or touches SQLite.
  void run_blocking(Responder done, std::function<ApiResponse()> work) const;
  // Runs `task` on the worker pool, answering nothing (exceptions are
  // logged): for work after an answer, such as observers.
  void defer(std::function<void()> task) const;

  // Shutdown has begun (Api::begin_drain).
  bool draining() const { return draining_.load(); }
  void begin_drain() { draining_ = true; }

 private:
  const HttpOptions& options_;
  Engine& engine_;
  boost::asio::thread_pool& workers_;
  std::atomic<bool> draining_{false};
};

}  // namespace edgefed::server::http
