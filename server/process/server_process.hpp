// A real edgefed-server as a child process: the one launcher that edgefed-sim
// and the integration and security tests share.
//
// start() forks and execs the binary with --listen HOST:PORT (127.0.0.1:0 by
// default: an ephemeral port), the TLS files, --state-dir and --port-file,
// then the caller's flags; the child's stdout and stderr are appended to a log
// file. It returns once the server has written its port file (which the
// server does once it listens), or with the end of the log if the server
// exits or does not listen in time. The process is stopped by pid: SIGTERM
// and a bounded wait, then SIGKILL. A crash is SIGKILL followed by a start on
// the same port. Every wait is bounded.
//
// Thread safety: none; one owner. The argument vector is built before fork(),
// so it may be used from a process that runs other threads.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::server {

struct ServerProcessOptions {
  std::string bin;                        // path of the edgefed-server binary (required)
  std::string listen_host = "127.0.0.1";  // --listen HOST:port
  uint16_t port = 0;                      // the port of every start(); 0: an ephemeral one
  std::string tls_cert;                   // --tls-cert; "": flag left out
  std::string tls_key;                    // --tls-key; "": flag left out
  std::string client_ca;                  // --client-ca; "": flag left out
  std::string state_dir;                  // --state-dir (required; the server creates it)
  std::string port_file;                  // --port-file (its folder is created); "": <state_dir>.port
  std::string log_file;                   // stdout and stderr, appended; "": <state_dir>.log
  std::vector<std::string> args;          // further flags, after the ones above
  double start_timeout_s = 60;            // until the port file is written
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerProcessOptions options);
  ~ServerProcess();  // stop() if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server on options().port and waits until it has written
  // its port file. kInvalidArgument if it is running already; kIo if the log
  // cannot be opened or fork() fails; kUnavailable, with the last lines of
  // the log, if the server exits during start-up or has not listened within
  // start_timeout_s (then it is SIGKILLed).
  Status start();
  // A crash: SIGKILL, reap, and start again on the port it had (port()),
  // so clients reconnect to the same address. Errors as start().
  Status crash_and_restart();
  // SIGTERM, then waits up to `timeout_s`. Returns the exit code (0..255),
  // 128 + N if signal N ended it, or -1 if it was not running or ignored
  // SIGTERM (then it is SIGKILLed and reaped).
  int terminate(double timeout_s = 30);
  // terminate() as a Status: ok for exit code 0 (or nothing running), else
  // what happened ("exit code 3", "signal 6", "ignored SIGTERM ...").
  Status stop(double timeout_s = 30);
  // SIGKILL and reap; nothing if not running.
  void kill();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }          // -1 when not running
  uint16_t port() const { return port_; }     // the port of the last start; 0 before
  int starts() const { return starts_; }      // successful starts so far
  const ServerProcessOptions& options() const { return options_; }
  // Everything in the log file, or its last `lines` lines.
  std::string log() const;
  std::string log_tail(size_t lines) const;
  // The port of the plain --metrics-listen listener, from the latest
  // start-up line of the log ("metrics_port":N); 0 if there is none.
  uint16_t metrics_port() const;

 private:
  // Forks and execs the server on `port` and waits for its port file.
  Status spawn(uint16_t port);
  // Reaps the child if it exits within `timeout_s`; its wait status in *status.
  bool wait_exit(double timeout_s, int* status);
  // SIGTERM and wait_exit(); the wait status, or nothing if it had to be SIGKILLed.
  std::optional<int> sigterm_and_wait(double timeout_s);

  ServerProcessOptions options_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int starts_ = 0;
};

}  // namespace edgefed::server
