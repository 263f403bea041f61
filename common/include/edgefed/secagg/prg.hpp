// Prg: the ChaCha20 keystream (RFC 8439, OpenSSL's EVP_chacha20) as the
// pseudorandom generator that expands a 256-bit seed into masks.
//
// A mask is the keystream of (seed, nonce 0, counter 0) read as
// little-endian uint32 words; a seed is used for one vector only (self
// seeds are fresh per round, pairwise seeds are derived per round), so a
// fixed nonce never repeats a keystream across rounds.
//
// Thread safety: a Prg is one stream with its own OpenSSL context; use it
// from one thread at a time (distinct Prgs are independent).
// Errors: wrong key or nonce length -> kInvalidArgument; a request past
// the end of the 2^32-block stream -> kInvalidArgument; an OpenSSL failure
// -> kInternal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

inline constexpr std::size_t kChaCha20NonceBytes = 12;
// Words expand() hands out at once (4 GiB of uint32): bounds an allocation
// that a bad length would otherwise make.
inline constexpr std::size_t kMaxMaskWords = std::size_t{1} << 30;

class Prg {
 public:
  // The stream of `key` (32 bytes) and `nonce` (12 bytes; empty means
  // twelve zero bytes) starting at 64-byte block `counter`.
  static Result<Prg> create(std::span<const std::uint8_t> key, std::uint32_t counter = 0,
                            std::span<const std::uint8_t> nonce = {});
  // `count` mask words of the stream of `seed` from its start.
  static Result<std::vector<std::uint32_t>> expand(const Key32& seed, std::size_t count);

  Prg(Prg&&) noexcept;
  Prg& operator=(Prg&&) noexcept;
  ~Prg();

  // out = in XOR the next in.size() keystream bytes (ChaCha20 encryption
  // and decryption). REQUIRES: out.size() == in.size().
  Status xor_stream(std::span<const std::uint8_t> in, std::span<std::uint8_t> out);
  // The next 4 * out.size() keystream bytes as little-endian words.
  Status fill_words(std::span<std::uint32_t> out);

 private:
  struct Ctx;
  Prg(std::unique_ptr<Ctx> ctx, std::uint64_t bytes_left);
  Status take(std::size_t bytes);

  std::unique_ptr<Ctx> ctx_;
  std::uint64_t bytes_left_;  // until the 32-bit block counter would wrap
};

}  // namespace edgefed::secagg
