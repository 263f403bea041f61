// TLS contexts: TLS 1.3 only on both ends, PEM files checked one by one so a
// start-up failure names the file and the reason. Raw OpenSSL calls through
// native_handle() rather than asio's throwing wrappers, because those lose
// which file failed.
#include "edgefed/tls.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509err.h>

#include "edgefed/status.hpp"

namespace edgefed {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.3 suites in order of preference (these are OpenSSL's defaults too;
// stating them keeps scanner results stable across OpenSSL builds).
constexpr const char* kCipherSuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

// The newest OpenSSL error, and the queue emptied so it cannot leak into an
// unrelated later call.
std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// Fails early with the OS's reason (missing, unreadable) before OpenSSL
// reports the same thing less clearly.
void require_readable(const std::string& path, const char* what) {
  if (path.empty()) throw ConfigError(std::string("no ") + what + " file configured");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw ConfigError(std::string("cannot read ") + what + " " + path + ": " + std::strerror(errno));
  std::fclose(f);
}

[[noreturn]] void fail(const char* what, const std::string& path) {
  throw ConfigError(std::string("cannot load ") + what + " " + path + ": " + openssl_reason());
}

// Encrypted keys would make OpenSSL prompt on the terminal; a service must
// fail instead.
int no_passphrase(char*, int, int, void*) { return 0; }

void tls13_only(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kCipherSuites) != 1) {
    throw ConfigError("cannot restrict TLS to version 1.3: " + openssl_reason());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
}

void load_identity(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  require_readable(cert_file, "certificate");
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) fail("certificate", cert_file);
  check_key_permissions(key_file);
  // OpenSSL compares the key with the certificate while loading it; say so
  // plainly, since "key values mismatch" alone does not name the pair.
  const bool loaded = SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  if (!loaded && ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) fail("private key", key_file);
  if (!loaded || SSL_CTX_check_private_key(ctx) != 1) {
    throw ConfigError("private key " + key_file + " does not match certificate " + cert_file + ": " +
                      openssl_reason());
  }
}

void load_ca(SSL_CTX* ctx, const std::string& ca_file) {
  require_readable(ca_file, "CA certificate");
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) fail("CA certificate", ca_file);
}

// Adds every CRL in a PEM file to the context's store and turns on
// revocation checks for the peer's certificate. An expired CRL would make
// OpenSSL refuse every client, so it is refused here, at start-up, instead.
void load_crl(SSL_CTX* ctx, const std::string& crl_file) {
  require_readable(crl_file, "CRL");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(crl_file.c_str(), "r"), BIO_free);
  if (!bio) fail("CRL", crl_file);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
    std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> owned(crl, X509_CRL_free);
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
    if (next != nullptr && X509_cmp_current_time(next) < 0) {
      throw ConfigError("CRL " + crl_file + " has expired (regenerate it: edgefed-certs revoke or gencrl)");
    }
    if (X509_STORE_add_crl(store, crl) != 1) fail("CRL", crl_file);
    ++count;
  }
  ERR_clear_error();  // the loop ends on "no start line": expected
  if (count == 0) throw ConfigError("cannot load CRL " + crl_file + ": no PEM X509 CRL in the file");
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
}

}  // namespace

void check_key_permissions(const std::string& key_file) {
  struct stat st {};
  if (key_file.empty()) throw ConfigError("no private key file configured");
  if (::stat(key_file.c_str(), &st) != 0) {
    throw ConfigError("cannot read private key " + key_file + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw ConfigError("private key " + key_file + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw ConfigError("private key " + key_file + " has mode " + mode +
                      "; refusing a key that group or others may access (chmod 600 " + key_file + ")");
  }
}

ssl::context make_server_context(const ServerTlsOptions& options) {
  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX* native = ctx.native_handle();
  tls13_only(native);
  // A server holds thousands of mostly idle agent connections (long polls);
  // without this each keeps ~50 KB of TLS record buffers while it waits.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  load_identity(native, options.cert_file, options.key_file);

  // No client CA means no mTLS (tls.hpp), unless certificates are required,
  // which without a CA would refuse everyone: say so at start-up.
  if (options.client_certs == ClientCertMode::kRequired && options.client_ca_file.empty()) {
    throw ConfigError("client certificates are required but no client CA file is configured");
  }
  if (options.client_certs == ClientCertMode::kNone || options.client_ca_file.empty()) {
    if (!options.crl_file.empty() && options.client_ca_file.empty()) {
      throw ConfigError("a CRL (" + options.crl_file + ") is configured but no client CA file");
    }
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  load_ca(native, options.client_ca_file);
  // Tell clients which CA we accept, so one holding several picks the right one.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str())) {
    SSL_CTX_set_client_CA_list(native, names);
  }
  ERR_clear_error();
  if (!options.crl_file.empty()) load_crl(native, options.crl_file);
  // With client verification on, OpenSSL fails (not just skips) a session
  // resumption unless the server names a session id context.
  static constexpr unsigned char kSessionContext[] = "edgefed";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  int mode = SSL_VERIFY_PEER;
  if (options.client_certs == ClientCertMode::kRequired) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(native, mode, nullptr);
  return ctx;
}

ssl::context make_client_context(const ClientTlsOptions& options) {
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX* native = ctx.native_handle();
  tls13_only(native);
  if (options.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(native) != 1) fail("system CA store", "(default paths)");
  } else {
    load_ca(native, options.ca_file);
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  if (options.cert_file.empty() != options.key_file.empty()) {
    throw ConfigError("a client certificate needs both a certificate and a key file (got " +
                      (options.cert_file.empty() ? "only key " + options.key_file
                                                 : "only certificate " + options.cert_file) +
                      ")");
  }
  if (!options.cert_file.empty()) load_identity(native, options.cert_file, options.key_file);
  return ctx;
}

}  // namespace edgefed
