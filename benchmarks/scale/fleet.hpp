// The simulated agents of edgefed-bench-scale, each one keep-alive TLS
// connection with its own certificate:
//  - IdleAgent: long-polls GET /v1/model?after=V&wait=W and, after each
//    answer, posts one telemetry record (so telemetry every ~W seconds);
//  - ActiveAgent: pushes an f32 update every `interval` seconds (jittered)
//    and records each push's latency.
// Both reconnect after a second on any error. All run on one io_context
// thread per kind; FleetStats is shared with the main thread.
#pragma once

#include <atomic>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "bench_conn.hpp"
#include "edgefed/model_layout.hpp"

namespace edgefed::bench {

struct FleetStats {
  std::atomic<int64_t> connected{0}, connecting{0}, connect_failures{0}, errors{0};
  std::atomic<int64_t> polls{0}, polls_new_model{0}, telemetry{0}, pushes{0};
  std::atomic<int64_t> first_error_set{0};
  std::mutex mu;
  std::string first_error;
  // (seconds since start, latency ms) of every acknowledged push.
  std::vector<std::pair<double, double>> push_latency;
  void error(const std::string& what);
};

struct FleetConfig {
  boost::asio::ip::tcp::endpoint server;
  std::chrono::steady_clock::time_point start;
  double poll_wait_s = 10;     // idle: long-poll wait, so also the telemetry interval
  double push_interval_s = 1;  // active: seconds between pushes (0 = as fast as acknowledged)
  std::shared_ptr<const ModelLayout> layout;
  std::string run_id;
};

class IdleAgent : public std::enable_shared_from_this<IdleAgent> {
 public:
  IdleAgent(boost::asio::io_context& ioc, boost::asio::ssl::context& ctx, const FleetConfig& cfg, FleetStats& stats,
            Identity id, int64_t version);
  // counted: the caller already added this connection to stats.connecting
  // (the ramp does, so its --max-handshakes check sees it at once).
  void start(bool counted = false);

 private:
  void poll();
  void post_telemetry();
  void failed(const std::string& what);

  boost::asio::io_context& ioc_;
  boost::asio::ssl::context& ctx_;
  const FleetConfig& cfg_;
  FleetStats& stats_;
  Identity id_;
  int64_t version_;
  int64_t seq_ = 0;
  bool up_ = false;
  std::minstd_rand rng_;
  std::shared_ptr<BenchConn> conn_;
};

class ActiveAgent : public std::enable_shared_from_this<ActiveAgent> {
 public:
  ActiveAgent(boost::asio::io_context& ioc, boost::asio::ssl::context& ctx, const FleetConfig& cfg, FleetStats& stats,
              Identity id, int64_t version);
  void start();

 private:
  void schedule();
  void push();
  void failed(const std::string& what);

  boost::asio::io_context& ioc_;
  boost::asio::ssl::context& ctx_;
  const FleetConfig& cfg_;
  FleetStats& stats_;
  Identity id_;
  int64_t version_;
  int64_t n_ = 0;
  std::minstd_rand rng_;
  std::vector<float> delta_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<BenchConn> conn_;
};

}  // namespace edgefed::bench
