// The agent's local inference endpoint for the device's own application:
// HTTP/1.1 + JSON on a Unix domain socket (no network port), answered from
// the serving model (serving_model.hpp):
//   POST /v1/predict   a batch of inputs -> predictions (predict_json.hpp)
//   GET  /v1/model     the served version and its validation
//   GET  /healthz      200 "ok"
// Errors are the project's JSON error body with its HTTP status: 400 bad
// JSON, 404/405, 413 too many rows or too large a body, 422 wrong width or
// a non-finite value, 503 nothing served yet.
//
// The socket file is created with mode 0660 (the device application runs in
// the agent's group); a stale socket left by a killed agent is replaced, any
// other file at the path is refused. A swap of the serving model never
// blocks a request: each request takes the model current when it starts.
//
// Thread safety: start() and stop() from one thread; the server runs on its
// own thread. Errors: start() fails with kIo/kInvalidArgument naming the
// path (too long, in use by a live server, not a socket).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "agent/serve/drift_monitor.hpp"
#include "agent/serve/serving_model.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

struct PredictServerOptions {
  std::string socket_path;
  int64_t max_batch = 1024;                 // rows per request (413 above)
  int64_t max_body_bytes = int64_t{32} << 20;  // request body (413 above)
  int64_t idle_timeout_ms = 30000;          // a connection with no request is closed
  int max_connections = 64;                 // beyond: accepted and closed at once
};

class PredictServer {
 public:
  // Binds the socket and starts serving on a new thread. `serving` (and
  // `drift`, which sees every input answered, when given) are borrowed and
  // must outlive the server.
  static Result<std::unique_ptr<PredictServer>> start(PredictServerOptions options, const ServingModel& serving,
                                                      DriftMonitor* drift = nullptr);
  ~PredictServer();  // stop()
  PredictServer(const PredictServer&) = delete;
  PredictServer& operator=(const PredictServer&) = delete;

  // Stops accepting, closes connections, joins the thread and removes the
  // socket file. Idempotent.
  void stop();

  int64_t requests() const;  // answered, any status; thread-safe
  const std::string& path() const;

  struct Impl;  // predict_server.cpp

 private:
  explicit PredictServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace edgefed::agent
