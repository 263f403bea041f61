// Test support: a certificate fleet made with deploy/certs/edgefed-certs, and
// the real edgefed-server binary started with fork/exec on 127.0.0.1:0,
// found through its --port-file, and killed by pid when the guard goes out of
// scope. Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "edgefed/https_client.hpp"

namespace edgefed::testing {

// Certificates for one test binary, made once (agents agent-000..agent-023).
struct Pki {
  std::string dir;
  std::string ca() const { return dir + "/ca.pem"; }
  std::string crl() const { return dir + "/crl.pem"; }
  std::string server_cert() const { return dir + "/server.pem"; }
  std::string server_key() const { return dir + "/server.key"; }
  std::string admin_cert() const { return dir + "/admin.pem"; }
  std::string admin_key() const { return dir + "/admin.key"; }
  std::string viewer_cert() const { return dir + "/viewer.pem"; }  // OU=viewer: status only
  std::string viewer_key() const { return dir + "/viewer.key"; }
  std::string agent_cert(int i) const;
  std::string agent_key(int i) const;
  static std::string agent_id(int i);  // "agent-007"
};
// The shared fleet (made on first use under $TMPDIR, removed at exit).
const Pki& fleet_pki();
// A second, unrelated CA with one agent (for "cert from another CA").
const Pki& foreign_pki();

// GET over plain HTTP/1.1 on 127.0.0.1 with Connection: close; returns the
// whole answer (status line, headers, body).
std::string plain_get(uint16_t port, const std::string& path);

// Runs a command, returns its exit status (-1 if it could not run).
int run_command(const std::vector<std::string>& argv);

class ServerProcess {
 public:
  // extra: additional flags, e.g. {"--mode", "sync", "--min-updates", "3"}.
  ServerProcess(const Pki& pki, std::string state_dir, std::vector<std::string> extra = {});
  ~ServerProcess();  // SIGKILL if still running, then reap
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the binary and waits (<= 20 s) until it wrote its port file.
  // Throws std::runtime_error with the server log on failure.
  void start();
  // start() for a server that should refuse to start: "" if it started,
  // else the failure message (with the server's log).
  std::string start_error();
  uint16_t port() const { return port_; }
  // The port of the plain --metrics-listen listener, read from the start-up
  // log; 0 if the server has none.
  uint16_t metrics_port() const;
  bool running() const { return pid_ > 0; }
  // SIGTERM and wait (<= timeout); returns the exit status, or -1 (then SIGKILLed).
  int terminate(std::chrono::seconds timeout = std::chrono::seconds(30));
  void kill9();
  // The server's stderr so far (structured logs).
  std::string log() const;
  const std::string& admin_token() const { return token_; }

  HttpsClientOptions agent_options(int i) const;
  HttpsClientOptions admin_options() const;   // admin certificate
  HttpsClientOptions viewer_options() const;  // viewer certificate (status page, /v1/status)
  HttpsClientOptions anonymous_options() const;  // no client certificate
  std::unique_ptr<HttpsClient> agent(int i) const;
  std::unique_ptr<HttpsClient> admin() const;

 private:
  const Pki& pki_;
  std::string state_dir_;
  std::vector<std::string> extra_;
  std::string port_file_;
  std::string log_file_;
  std::string token_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int starts_ = 0;
};

}  // namespace edgefed::testing
