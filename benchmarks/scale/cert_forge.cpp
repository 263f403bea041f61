#include "cert_forge.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>

namespace edgefed::bench {

namespace {

template <class T, class F>
std::shared_ptr<T> own(T* p, F free) {
  return p ? std::shared_ptr<T>(p, free) : nullptr;
}

Status bad(const std::string& what) { return Status(Code::kInvalidArgument, "cert forge: " + what); }

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

}  // namespace

Result<CertForge> CertForge::open(const std::string& ca_pem, const std::string& ca_key) {
  CertForge f;
  if (FILE* in = std::fopen(ca_pem.c_str(), "r")) {
    f.ca_cert_ = own(PEM_read_X509(in, nullptr, nullptr, nullptr), X509_free);
    std::fclose(in);
  }
  if (FILE* in = std::fopen(ca_key.c_str(), "r")) {
    f.ca_key_ = own(PEM_read_PrivateKey(in, nullptr, nullptr, nullptr), EVP_PKEY_free);
    std::fclose(in);
  }
  if (!f.ca_cert_ || !f.ca_key_) return bad("cannot read " + ca_pem + " / " + ca_key);
  return f;
}

Result<Identity> CertForge::issue(const std::string& agent_id) {
  Identity id;
  id.agent_id = agent_id;
  id.key = own(EVP_EC_gen("P-256"), EVP_PKEY_free);
  id.cert = own(X509_new(), X509_free);
  if (!id.key || !id.cert) return bad("out of memory");
  X509* c = id.cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial_++);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400);
  X509_NAME* name = X509_get_subject_name(c);
  auto entry = [&](const char* field, const std::string& v) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(v.c_str()),
                                      -1, -1, 0) == 1;
  };
  if (!entry("O", "edgefed") || !entry("OU", "agent") || !entry("CN", agent_id)) return bad("subject " + agent_id);
  X509_set_issuer_name(c, X509_get_subject_name(ca_cert_.get()));
  X509_set_pubkey(c, id.key.get());
  if (!add_ext(c, ca_cert_.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(c, ca_cert_.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_ext(c, ca_cert_.get(), NID_ext_key_usage, "clientAuth") ||
      !add_ext(c, ca_cert_.get(), NID_authority_key_identifier, "keyid")) {
    return bad("extensions");
  }
  if (X509_sign(c, ca_key_.get(), EVP_sha256()) <= 0) return bad("signing " + agent_id);
  return id;
}

}  // namespace edgefed::bench
