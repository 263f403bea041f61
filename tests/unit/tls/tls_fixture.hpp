// Test support for TLS: a certificate fleet made by deploy/certs/edgefed-certs
// (once per build tree, shared_pki.hpp) and one loopback TLS exchange with
// bounded time.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

namespace edgefed::testing {

// Two fleets, shared by every test process of the build tree (read only):
//   main()   CA, server (127.0.0.1, localhost), admin, agent-000, agent-001
//            (agent-001 revoked, listed in crl.pem), expired-agent (valid
//            only on 2020-01-01)
//   other()  an unrelated CA with its own agent-000
// and `scratch`, this process's own temporary directory (removed at exit)
// for files a test writes.
struct Fleet {
  std::string main_dir;
  std::string other_dir;
  std::string scratch;
  const std::string& main() const { return main_dir; }
  const std::string& other() const { return other_dir; }
  std::string agent(const std::string& id, const std::string& ext) const {
    return main() + "/agents/" + id + "." + ext;
  }
};
const Fleet& fleet();

// The result of a handshake plus a 4-byte ping/pong over 127.0.0.1 on an
// ephemeral port, both ends in one io_context run for at most 10 s.
struct Exchange {
  bool server_ok = false;  // handshake, read "ping", wrote "pong"
  bool client_ok = false;  // handshake, wrote "ping", read "pong"
  std::string server_error;
  std::string client_error;
  std::string peer_cn;  // what the server read from the client certificate
  std::string peer_ou;
  int version = 0;      // negotiated protocol, as the server saw it
  bool resumed = false; // the server resumed an earlier session
  std::shared_ptr<SSL_SESSION> session;  // the client's session afterwards
};
// `resume`: a session from an earlier exchange for the client to offer.
Exchange exchange(boost::asio::ssl::context& server, boost::asio::ssl::context& client,
                  SSL_SESSION* resume = nullptr);

// A file under the fleet root with the given contents and mode.
std::string write_file(const std::string& name, const std::string& contents, unsigned mode);
std::string read_file(const std::string& path);

}  // namespace edgefed::testing
