#include "edgefed/secagg/x25519.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

namespace edgefed::secagg {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Status check_length(std::span<const std::uint8_t> key, const char* what) {
  if (key.size() != kKeyBytes) {
    return Status(Code::kInvalidArgument, std::string("X25519 ") + what + " must be 32 bytes, got " +
                                              std::to_string(key.size()));
  }
  return Status::ok();
}

}  // namespace

Result<X25519KeyPair> x25519_keypair(const RandomSource& random) {
  X25519KeyPair pair;
  EDGEFED_RETURN_IF_ERROR(random(pair.secret_key));
  auto pub = x25519_public_key(pair.secret_key);
  if (!pub.is_ok()) return pub.status();
  pair.public_key = *pub;
  return pair;
}

Result<Key32> x25519_public_key(std::span<const std::uint8_t> secret_key) {
  EDGEFED_RETURN_IF_ERROR(check_length(secret_key, "secret key"));
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret_key.data(), secret_key.size()));
  Key32 pub{};
  size_t len = pub.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != pub.size()) {
    return Status(Code::kInternal, "OpenSSL could not derive the X25519 public key");
  }
  return pub;
}

Result<Key32> x25519_agree(std::span<const std::uint8_t> secret_key,
                           std::span<const std::uint8_t> peer_public_key) {
  EDGEFED_RETURN_IF_ERROR(check_length(secret_key, "secret key"));
  EDGEFED_RETURN_IF_ERROR(check_length(peer_public_key, "peer public key"));
  Pkey own(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret_key.data(), secret_key.size()));
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public_key.data(),
                                        peer_public_key.size()));
  if (!own || !peer) return Status(Code::kInternal, "OpenSSL could not load the X25519 keys");
  PkeyCtx ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return Status(Code::kInternal, "OpenSSL could not set up the X25519 agreement");
  }
  Key32 shared{};
  size_t len = shared.size();
  // OpenSSL refuses an all-zero result itself (RFC 7748 section 6.1 check);
  // with valid lengths that is the only way this derivation fails.
  const bool derived = EVP_PKEY_derive(ctx.get(), shared.data(), &len) == 1;
  const Key32 zero{};
  if (!derived || len != shared.size() || CRYPTO_memcmp(shared.data(), zero.data(), zero.size()) == 0) {
    OPENSSL_cleanse(shared.data(), shared.size());
    return Status(Code::kUnprocessable,
                  "X25519 agreement refused: the peer public key has low order (all-zero shared secret)");
  }
  return shared;
}

}  // namespace edgefed::secagg
