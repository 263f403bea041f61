#include "edgefed/secagg/prg.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <string>

namespace edgefed::secagg {

struct Prg::Ctx {
  EVP_CIPHER_CTX* evp = nullptr;
  ~Ctx() { EVP_CIPHER_CTX_free(evp); }
};

Prg::Prg(std::unique_ptr<Ctx> ctx, std::uint64_t bytes_left) : ctx_(std::move(ctx)), bytes_left_(bytes_left) {}
Prg::Prg(Prg&&) noexcept = default;
Prg& Prg::operator=(Prg&&) noexcept = default;
Prg::~Prg() = default;

Result<Prg> Prg::create(std::span<const std::uint8_t> key, std::uint32_t counter,
                        std::span<const std::uint8_t> nonce) {
  if (key.size() != kKeyBytes) {
    return Status(Code::kInvalidArgument,
                  "ChaCha20 key must be 32 bytes, got " + std::to_string(key.size()));
  }
  if (!nonce.empty() && nonce.size() != kChaCha20NonceBytes) {
    return Status(Code::kInvalidArgument,
                  "ChaCha20 nonce must be 12 bytes, got " + std::to_string(nonce.size()));
  }
  // OpenSSL's 16-byte ChaCha20 IV is the block counter (32-bit little
  // endian) followed by the 96-bit nonce, as in RFC 8439 section 2.3.
  std::array<std::uint8_t, 16> iv{};
  for (int i = 0; i < 4; ++i) iv[i] = static_cast<std::uint8_t>(counter >> (8 * i));
  std::copy(nonce.begin(), nonce.end(), iv.begin() + 4);
  auto ctx = std::make_unique<Ctx>();
  ctx->evp = EVP_CIPHER_CTX_new();
  if (ctx->evp == nullptr ||
      EVP_EncryptInit_ex(ctx->evp, EVP_chacha20(), nullptr, key.data(), iv.data()) != 1) {
    return Status(Code::kInternal, "OpenSSL could not set up ChaCha20");
  }
  const std::uint64_t blocks_left = (std::uint64_t{1} << 32) - counter;
  return Prg(std::move(ctx), blocks_left * 64);
}

Status Prg::take(std::size_t bytes) {
  if (bytes > bytes_left_) {
    return Status(Code::kInvalidArgument, "ChaCha20 stream exhausted (2^32 blocks)");
  }
  bytes_left_ -= bytes;
  return Status::ok();
}

Status Prg::xor_stream(std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  if (out.size() != in.size()) {
    return Status(Code::kInvalidArgument, "ChaCha20 output size differs from input size");
  }
  EDGEFED_RETURN_IF_ERROR(take(in.size()));
  // EVP_EncryptUpdate takes an int length: feed at most 1 GiB at a time.
  constexpr std::size_t kChunk = std::size_t{1} << 30;
  for (std::size_t off = 0; off < in.size(); off += kChunk) {
    const std::size_t n = std::min(kChunk, in.size() - off);
    int written = 0;
    if (EVP_EncryptUpdate(ctx_->evp, out.data() + off, &written, in.data() + off, static_cast<int>(n)) != 1 ||
        written != static_cast<int>(n)) {
      return Status(Code::kInternal, "OpenSSL ChaCha20 failed");
    }
  }
  return Status::ok();
}

Status Prg::fill_words(std::span<std::uint32_t> out) {
  // Keystream = ChaCha20 of zeros, produced in cache-sized pieces.
  constexpr std::size_t kWords = 4096;
  static const std::array<std::uint8_t, kWords * 4> kZeros{};
  std::array<std::uint8_t, kWords * 4> buf;
  for (std::size_t off = 0; off < out.size(); off += kWords) {
    const std::size_t n = std::min(kWords, out.size() - off);
    EDGEFED_RETURN_IF_ERROR(xor_stream(std::span(kZeros).first(n * 4), std::span(buf).first(n * 4)));
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t* b = buf.data() + 4 * i;
      out[off + i] = std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 | std::uint32_t{b[2]} << 16 |
                     std::uint32_t{b[3]} << 24;
    }
  }
  OPENSSL_cleanse(buf.data(), buf.size());
  return Status::ok();
}

Result<std::vector<std::uint32_t>> Prg::expand(const Key32& seed, std::size_t count) {
  if (count > kMaxMaskWords) {
    return Status(Code::kInvalidArgument,
                  "mask of " + std::to_string(count) + " words exceeds the limit of " +
                      std::to_string(kMaxMaskWords));
  }
  auto prg = create(seed);
  if (!prg.is_ok()) return prg.status();
  std::vector<std::uint32_t> out(count);
  EDGEFED_RETURN_IF_ERROR(prg->fill_words(out));
  return out;
}

}  // namespace edgefed::secagg
