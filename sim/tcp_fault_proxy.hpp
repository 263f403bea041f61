// A fault-injecting TCP proxy for link tests: listens on 127.0.0.1:0 and
// relays every connection to 127.0.0.1:target_port, until cut(): then every
// open connection is torn down (both ends see a reset/EOF mid-stream) and new
// connections are accepted and closed at once, as if the link were down,
// until restore().
//
// Thread safety: cut(), restore() and the counters are thread-safe. The
// destructor stops and joins every thread (bounded: threads poll every 50 ms).
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <thread>

namespace edgefed::sim {

class TcpFaultProxy {
 public:
  // Throws std::runtime_error if it cannot listen.
  explicit TcpFaultProxy(uint16_t target_port);
  ~TcpFaultProxy();
  TcpFaultProxy(const TcpFaultProxy&) = delete;
  TcpFaultProxy& operator=(const TcpFaultProxy&) = delete;

  uint16_t port() const { return port_; }
  void cut();
  void restore();
  bool is_cut() const { return cut_.load(); }
  int64_t relayed_connections() const { return relayed_.load(); }
  int64_t refused_connections() const { return refused_.load(); }

 private:
  void accept_loop();
  void relay(int client_fd, int server_fd, int64_t generation);

  uint16_t target_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::atomic<int64_t> generation_{0};  // bumped by cut(): relays of older generations end
  std::atomic<int64_t> relayed_{0};
  std::atomic<int64_t> refused_{0};
  std::mutex mu_;
  std::list<std::thread> relays_;
  std::thread acceptor_;
};

}  // namespace edgefed::sim
