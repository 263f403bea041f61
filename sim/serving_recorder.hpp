// Records what the fleet serves (serving channels, agent/serve/): polls
// GET /v1/versions for the stable and canary versions and every channel
// change, reads which version each agent serves, and measures each served
// version once on (a slice of) the held-out test set, fetched with
// GET /v1/versions/N/model. The result: a timeline of the fleet's serving
// accuracy (the mean over agents of their served version's accuracy) and
// the canary decisions with their times. Runs on its own thread; the
// accessors are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "edgefed/https_client.hpp"
#include "edgefed/ml/evaluator.hpp"

namespace edgefed::sim {

struct ServingPoint {
  double seconds = 0;
  int64_t stable = -1, canary = -1;
  int64_t agents_serving = 0;      // agents that serve some version
  double serving_accuracy = 0;     // mean over those agents of their version's test accuracy
  std::map<int64_t, int64_t> by_version;  // version -> agents serving it
};

// One device class's share of the canary cohort (GET /v1/versions).
struct CohortClass {
  int64_t agents = 0;
  int64_t cohort = 0;
};

struct ChannelChange {
  double seconds = 0;        // when the recorder saw it
  int64_t version = 0;
  std::string channel;       // candidate (a canary that timed out), canary, stable, rejected
  std::string reason;
  double accuracy = -1;      // the version's test accuracy (-1: not measured)
};

class ServingRecorder {
 public:
  // `serving_versions` returns each agent's served version (-1: none).
  ServingRecorder(HttpsClientOptions client, ml::Evaluator evaluator, double interval_s,
                  std::chrono::steady_clock::time_point t0, std::function<std::vector<int64_t>()> serving_versions);
  ~ServingRecorder();
  void start();
  void stop();
  void poll_now();

  std::vector<ServingPoint> timeline() const;
  std::vector<ChannelChange> changes() const;
  std::map<int64_t, double> accuracies() const;  // versions measured
  // The cohort per device class, as last polled.
  std::map<std::string, CohortClass> cohort_classes() const;
  // The largest fall of the serving accuracy below its best so far.
  double max_drop() const;

 private:
  void run();
  double accuracy_of(int64_t version);  // -1 if it cannot be had; REQUIRES client_mu_

  HttpsClientOptions options_;
  ml::Evaluator evaluator_;
  double interval_s_;
  std::chrono::steady_clock::time_point t0_;
  std::function<std::vector<int64_t>()> serving_versions_;
  std::mutex client_mu_;
  std::unique_ptr<HttpsClient> client_;
  mutable std::mutex mu_;
  std::vector<ServingPoint> timeline_;
  std::vector<ChannelChange> changes_;
  std::map<int64_t, std::string> channels_;  // the last channel seen per version
  std::map<int64_t, double> accuracy_;
  std::map<std::string, CohortClass> cohort_classes_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace edgefed::sim
