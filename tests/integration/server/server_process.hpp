// Test support: a certificate fleet made with deploy/certs/edgefed-certs, and
// the real edgefed-server binary on 127.0.0.1:0 with that fleet's
// certificates: the tests' fixture around server::ServerProcess
// (server/process/, the launcher edgefed-sim uses too), killed by pid when it
// goes out of scope. Every wait is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgefed/https_client.hpp"
#include "server/process/server_process.hpp"
#include "shared_pki.hpp"

namespace edgefed::testing {

// A certificate fleet (deploy/certs/edgefed-certs), read only once made.
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
// shared_pki_dir() (tests/support/shared_pki.hpp) makes each PKI once per
// build tree.

// The shared fleet: agents agent-000..agent-023, the admin and the viewer.
const Pki& fleet_pki();
// A second, unrelated CA with one agent (for "cert from another CA").
const Pki& foreign_pki();

// GET over plain HTTP/1.1 on 127.0.0.1 with Connection: close; returns the
// whole answer (status line, headers, body).
std::string plain_get(uint16_t port, const std::string& path);

// run_command() (tests/support/shared_pki.hpp) runs a tool and waits.

// The real binary with the test defaults (--threads 2 --workers 2
// --fsync-full=false, an admin token file) before the test's own flags.
class ServerProcess {
 public:
  // extra: additional flags, e.g. {"--mode", "sync", "--min-updates", "3"}.
  // The port file and the log are <state_dir>.port and <state_dir>.log.
  ServerProcess(const Pki& pki, std::string state_dir, std::vector<std::string> extra = {});
  ~ServerProcess();  // SIGKILL if still running, then reap
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the binary on a new ephemeral port and waits (<= 60 s) until it
  // wrote its port file. Throws std::runtime_error with the server's log on
  // failure.
  void start();
  // start() for a server that should refuse to start: "" if it started,
  // else the failure message (with the end of the server's log).
  std::string start_error();
  uint16_t port() const { return process_.port(); }
  // The port of the plain --metrics-listen listener, read from the start-up
  // log; 0 if the server has none.
  uint16_t metrics_port() const { return process_.metrics_port(); }
  bool running() const { return process_.running(); }
  // SIGTERM and wait (<= timeout); returns the exit status, or -1 (then SIGKILLed).
  int terminate(std::chrono::seconds timeout = std::chrono::seconds(30));
  void kill9() { process_.kill(); }
  // The server's stderr so far (structured logs).
  std::string log() const { return process_.log(); }
  const std::string& admin_token() const { return token_; }

  HttpsClientOptions agent_options(int i) const;
  HttpsClientOptions admin_options() const;   // admin certificate
  HttpsClientOptions viewer_options() const;  // viewer certificate (status page, /v1/status)
  HttpsClientOptions anonymous_options() const;  // no client certificate
  std::unique_ptr<HttpsClient> agent(int i) const;
  std::unique_ptr<HttpsClient> admin() const;

 private:
  const Pki& pki_;
  std::string token_;
  server::ServerProcess process_;
};

}  // namespace edgefed::testing
