// Identity from a verified peer certificate: the agent id is its CN, the
// role its OU. Only call these on certificates the handshake verified.
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

#include "edgefed/tls.hpp"

namespace edgefed {

namespace {

// The single value of `nid` in the subject, as UTF-8; "" when absent,
// repeated (ambiguous: "CN=admin, CN=agent-1") or not convertible.
std::string subject_field(void* x509, int nid) {
  if (x509 == nullptr) return "";
  const X509_NAME* name = X509_get_subject_name(static_cast<const X509*>(x509));
  if (name == nullptr) return "";
  const int at = X509_NAME_get_index_by_NID(name, nid, -1);
  if (at < 0 || X509_NAME_get_index_by_NID(name, nid, at) >= 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return "";
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  // An embedded NUL would let "agent-1\0evil" pass as "agent-1" elsewhere.
  if (out.find('\0') != std::string::npos) return "";
  return out;
}

}  // namespace

std::string certificate_common_name(void* x509) { return subject_field(x509, NID_commonName); }
std::string certificate_organizational_unit(void* x509) {
  return subject_field(x509, NID_organizationalUnitName);
}

std::string certificate_file_common_name(const std::string& pem_file) {
  FILE* f = std::fopen(pem_file.c_str(), "rb");
  if (f == nullptr) return "";
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) return "";
  std::string cn = subject_field(cert, NID_commonName);
  X509_free(cert);
  return cn;
}

}  // namespace edgefed
