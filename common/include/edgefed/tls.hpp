// TLS contexts for every edgefed endpoint: TLS 1.3 only, PEM files, client
// certificates. Building a context is start-up work: failures are ConfigError
// with a one-line reason naming the file ("cannot read key /x: ...").
//
// Host name verification is per connection: a client sets SNI and
// ssl::host_name_verification on its stream (see https_client.cpp).
// Certificates come from deploy/certs/edgefed-certs (see its README): agents
// are CN=<agent id>, OU=agent; the admin is CN=admin, OU=admin.
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
  std::string crl_file;        // optional CRL (PEM) of revoked client certs; with
                               // it, every client certificate is checked against
                               // it, and an expired CRL is refused at start-up
  ClientCertMode client_certs = ClientCertMode::kOptional;
};

struct ClientTlsOptions {
  std::string ca_file;    // CA that signed the server certificate ("" = system store)
  std::string cert_file;  // client certificate ("" = none)
  std::string key_file;   // its key, mode 0600 or stricter
};

// Throws ConfigError (status.hpp).
boost::asio::ssl::context make_server_context(const ServerTlsOptions& options);
boost::asio::ssl::context make_client_context(const ClientTlsOptions& options);

// Refuses (ConfigError) a private key file readable by group or others.
void check_key_permissions(const std::string& key_file);

// The subject CN of a peer certificate (X509*, may be null), "" if absent.
// A subject with several CNs gives "" too: an identity must be unambiguous.
std::string certificate_common_name(void* x509);
// The subject OU, same rules ("admin" marks the admin role).
std::string certificate_organizational_unit(void* x509);
// The CN of the first certificate of a PEM file (a client's own identity,
// e.g. a relay's towards its central server); "" if unreadable or absent.
std::string certificate_file_common_name(const std::string& pem_file);

}  // namespace edgefed
