#include "edgefed/secagg/aead.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <memory>
#include <string>

namespace edgefed::secagg {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// EVP takes int lengths; nothing the protocol seals comes near this.
constexpr std::size_t kMaxInput = INT_MAX - kAeadTagBytes;

Status check_inputs(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                    std::span<const std::uint8_t> aad, std::size_t text_size) {
  if (key.size() != kAeadKeyBytes) {
    return Status(Code::kInvalidArgument,
                  "ChaCha20-Poly1305 key must be 32 bytes, got " + std::to_string(key.size()));
  }
  if (nonce.size() != kAeadNonceBytes) {
    return Status(Code::kInvalidArgument,
                  "ChaCha20-Poly1305 nonce must be 12 bytes, got " + std::to_string(nonce.size()));
  }
  if (aad.size() > kMaxInput || text_size > kMaxInput) {
    return Status(Code::kInvalidArgument, "ChaCha20-Poly1305 input over 2 GiB");
  }
  return Status::ok();
}

// A context keyed for one seal or open, with the AAD already absorbed.
Result<CipherCtx> start(bool encrypt, std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                        std::span<const std::uint8_t> aad) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int unused = 0;
  if (!ctx || EVP_CipherInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data(), -1) != 1 ||
      (!aad.empty() &&
       EVP_CipherUpdate(ctx.get(), nullptr, &unused, aad.data(), static_cast<int>(aad.size())) != 1)) {
    return Status(Code::kInternal, "OpenSSL could not set up ChaCha20-Poly1305");
  }
  return ctx;
}

}  // namespace

Result<std::vector<std::uint8_t>> aead_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                                            std::span<const std::uint8_t> aad,
                                            std::span<const std::uint8_t> plaintext) {
  EDGEFED_RETURN_IF_ERROR(check_inputs(key, nonce, aad, plaintext.size()));
  auto ctx = start(true, key, nonce, aad);
  if (!ctx.is_ok()) return ctx.status();
  std::vector<std::uint8_t> out(plaintext.size() + kAeadTagBytes);
  int len = 0;
  int final_len = 0;
  if ((!plaintext.empty() &&
       EVP_EncryptUpdate(ctx->get(), out.data(), &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx->get(), out.data() + len, &final_len) != 1 ||
      static_cast<std::size_t>(len + final_len) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagBytes),
                          out.data() + plaintext.size()) != 1) {
    return Status(Code::kInternal, "OpenSSL ChaCha20-Poly1305 encryption failed");
  }
  return out;
}

Result<std::vector<std::uint8_t>> aead_open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                                            std::span<const std::uint8_t> aad, std::span<const std::uint8_t> sealed) {
  if (sealed.size() < kAeadTagBytes) {
    return Status(Code::kInvalidArgument, "ChaCha20-Poly1305 input of " + std::to_string(sealed.size()) +
                                              " bytes is shorter than its 16-byte tag");
  }
  const std::size_t text_size = sealed.size() - kAeadTagBytes;
  EDGEFED_RETURN_IF_ERROR(check_inputs(key, nonce, aad, text_size));
  auto ctx = start(false, key, nonce, aad);
  if (!ctx.is_ok()) return ctx.status();
  std::vector<std::uint8_t> out(text_size);
  int len = 0;
  if ((text_size > 0 &&
       EVP_DecryptUpdate(ctx->get(), out.data(), &len, sealed.data(), static_cast<int>(text_size)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagBytes),
                          const_cast<std::uint8_t*>(sealed.data() + text_size)) != 1) {
    return Status(Code::kInternal, "OpenSSL ChaCha20-Poly1305 decryption failed");
  }
  int final_len = 0;
  // EVP_DecryptFinal_ex compares the tags in constant time.
  if (EVP_DecryptFinal_ex(ctx->get(), out.data() + len, &final_len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return Status(Code::kUnauthenticated,
                  "ChaCha20-Poly1305 tag mismatch: ciphertext, tag, associated data, nonce or key altered");
  }
  return out;
}

}  // namespace edgefed::secagg
