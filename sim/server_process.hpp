// An edgefed-server child process the simulator owns: started on
// 127.0.0.1 (an ephemeral port the first time, the same port after a
// restart), killed with SIGKILL to simulate a crash, stopped with SIGTERM.
// Output goes to a log file. Not thread-safe: one owner.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"

namespace edgefed::sim {

struct ServerProcessOptions {
  std::string bin;         // path of edgefed-server
  std::string certs_dir;   // from edgefed-certs init (ca.pem, server.pem, server.key)
  std::string state_dir;
  std::string log_file;    // stdout and stderr, appended
  MergeMode mode = MergeMode::kAsync;
  std::string model = "mlp:784-128-10";
  int threads = 2;
  std::vector<std::string> extra_args;  // "--flag=value"
  double start_timeout_s = 60;
};

class ServerProcess {
 public:
  // Starts the server and waits until it listens (kUnavailable with the tail
  // of its log if it exits or does not listen in time).
  static Result<std::unique_ptr<ServerProcess>> start(ServerProcessOptions options);
  ~ServerProcess();  // stop()
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  int restarts() const { return restarts_; }
  // SIGKILL, reap, start again on the same port.
  Status crash_and_restart();
  // SIGTERM and wait (SIGKILL after 30 s). Returns the exit status text.
  Status stop();

 private:
  explicit ServerProcess(ServerProcessOptions options) : options_(std::move(options)) {}
  Status spawn(uint16_t port);
  std::string log_tail() const;

  ServerProcessOptions options_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int restarts_ = 0;
};

}  // namespace edgefed::sim
