// Issues agent client certificates in memory, signed by the edgefed-certs dev
// CA (ca.pem + ca.key), so a benchmark can present 10,000 distinct agent
// identities without 10,000 openssl runs (~30 ms each). Subject and
// extensions as edgefed-certs: O=edgefed, OU=agent, CN=<id>; clientAuth.
// Not thread-safe; keys are EC P-256, valid for one day.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "edgefed/status.hpp"

namespace edgefed::bench {

struct Identity {
  std::string agent_id;
  std::shared_ptr<X509> cert;
  std::shared_ptr<EVP_PKEY> key;
};

class CertForge {
 public:
  // Reads the CA certificate and key (PEM). kInvalidArgument if unreadable.
  static Result<CertForge> open(const std::string& ca_pem, const std::string& ca_key);
  Result<Identity> issue(const std::string& agent_id);

 private:
  std::shared_ptr<X509> ca_cert_;
  std::shared_ptr<EVP_PKEY> ca_key_;
  long serial_ = 1;
};

}  // namespace edgefed::bench
