// TLS contexts for every edgefed endpoint: TLS 1.3 only, PEM files, client
// certificates. Building a context is start-up work: failures are ConfigError
// with a one-line reason naming the file ("cannot read key /x: ...").
#pragma once

#include <string>

#include <boost/asio/ssl/context.hpp>

namespace edgefed {

enum class ClientCertMode {
  kNone,      // do not ask
  kOptional,  // ask; verify if sent (server decides per route)
  kRequired,  // handshake fails without a valid client certificate
};

struct ServerTlsOptions {
  std::string cert_file;       // server certificate chain, PEM
  std::string key_file;        // its private key, PEM, mode 0600 or stricter
  std::string client_ca_file;  // CA for client certificates ("" = no mTLS)
  std::string crl_file;        // optional CRL (PEM) of revoked client certs
  ClientCertMode client_certs = ClientCertMode::kOptional;
};

struct ClientTlsOptions {
  std::string ca_file;    // CA that signed the server certificate
  std::string cert_file;  // client certificate ("" = none)
  std::string key_file;   // its key, mode 0600 or stricter
};

// Throws ConfigError (status.hpp).
boost::asio::ssl::context make_server_context(const ServerTlsOptions& options);
boost::asio::ssl::context make_client_context(const ClientTlsOptions& options);

// Refuses (ConfigError) a private key file readable by group or others.
void check_key_permissions(const std::string& key_file);

// The subject CN of a peer certificate (X509*), "" if absent.
std::string certificate_common_name(void* x509);

}  // namespace edgefed
