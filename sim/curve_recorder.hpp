// Records the sim's accuracy curve: polls GET /v1/status, and when a new
// version appears (at most every interval) pulls GET /v1/model and measures
// it on the held-out test set with ml::Evaluator. Runs on its own
// thread; curve() and latest() are thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "edgefed/ml/evaluator.hpp"
#include "edgefed/https_client.hpp"

namespace edgefed::sim {

struct CurvePoint {
  double seconds = 0;        // since the start of the run
  int64_t version = 0;
  double accuracy = 0;       // on the test set (classification)
  double loss = 0;
  double mae = 0;            // regression: on the test set, in its units
  int64_t updates_merged = 0;
};

struct ServerCounters {
  int64_t version = 0;
  int64_t updates_accepted = 0;
  int64_t updates_merged = 0;
  int64_t telemetry_records = 0;
  bool reachable = false;
};

class CurveRecorder {
 public:
  CurveRecorder(HttpsClientOptions client, ml::Evaluator evaluator, double interval_s,
                std::chrono::steady_clock::time_point t0);
  ~CurveRecorder();
  void start();
  void stop();
  // Evaluates the current model now (blocking) and appends it to the curve.
  std::optional<CurvePoint> evaluate_now();

  std::vector<CurvePoint> curve() const;
  std::optional<CurvePoint> latest() const;
  ServerCounters counters() const;
  // Points the client at another port (after a server restart).
  void set_port(uint16_t port);

 private:
  void run();
  std::optional<CurvePoint> poll(bool force);

  HttpsClientOptions options_;
  ml::Evaluator evaluator_;  // under client_mu_
  double interval_s_;
  std::chrono::steady_clock::time_point t0_;
  std::unique_ptr<HttpsClient> client_;
  std::mutex client_mu_;  // the client and the last-evaluated version
  int64_t evaluated_version_ = -1;
  double last_eval_s_ = -1e9;
  mutable std::mutex mu_;  // curve_ and counters_
  std::vector<CurvePoint> curve_;
  ServerCounters counters_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace edgefed::sim
