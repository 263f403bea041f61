#include "edgefed/secagg/hkdf.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <string>

namespace edgefed::secagg {
namespace {

struct KdfFree {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};

// One EVP_KDF "HKDF" derivation in `mode`. Empty salt and info are left
// out: OpenSSL then uses the RFC's defaults (zero salt, empty info).
Status derive(int mode, std::span<const std::uint8_t> key, std::span<const std::uint8_t> salt,
              std::span<const std::uint8_t> info, std::span<std::uint8_t> out) {
  // OpenSSL's HKDF refuses an empty key; say so instead of "internal".
  if (key.empty()) return Status(Code::kInvalidArgument, "HKDF input key material is empty");
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return Status(Code::kInternal, "OpenSSL has no HKDF");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return Status(Code::kInternal, "OpenSSL could not create an HKDF context");
  char digest[] = "SHA256";
  OSSL_PARAM params[6];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(key.data()),
                                                  key.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()),
                                                    salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.data()),
                                                    info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return Status(Code::kInternal, "OpenSSL HKDF derivation failed");
  }
  return Status::ok();
}

Status check_length(std::size_t length) {
  if (length == 0 || length > kHkdfMaxOutput) {
    return Status(Code::kInvalidArgument,
                  "HKDF-SHA256 output length must be 1.." + std::to_string(kHkdfMaxOutput) + " bytes, got " +
                      std::to_string(length));
  }
  return Status::ok();
}

}  // namespace

Result<Key32> hkdf_sha256_extract(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm) {
  Key32 prk{};
  EDGEFED_RETURN_IF_ERROR(derive(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt, {}, prk));
  return prk;
}

Result<std::vector<std::uint8_t>> hkdf_sha256_expand(std::span<const std::uint8_t> prk,
                                                     std::span<const std::uint8_t> info, std::size_t length) {
  if (prk.size() < kKeyBytes) {
    return Status(Code::kInvalidArgument,
                  "HKDF-SHA256 PRK must be at least 32 bytes, got " + std::to_string(prk.size()));
  }
  EDGEFED_RETURN_IF_ERROR(check_length(length));
  std::vector<std::uint8_t> okm(length);
  EDGEFED_RETURN_IF_ERROR(derive(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, {}, info, okm));
  return okm;
}

Result<std::vector<std::uint8_t>> hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                                              std::span<const std::uint8_t> info, std::size_t length) {
  EDGEFED_RETURN_IF_ERROR(check_length(length));
  std::vector<std::uint8_t> okm(length);
  EDGEFED_RETURN_IF_ERROR(derive(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, ikm, salt, info, okm));
  return okm;
}

}  // namespace edgefed::secagg
