#include "edgefed/secagg/random_source.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <memory>

#include "edgefed/secagg/prg.hpp"

namespace edgefed::secagg {

RandomSource system_random() {
  return [](std::span<std::uint8_t> out) -> Status {
    // RAND_bytes takes an int length.
    constexpr std::size_t kChunk = std::size_t{1} << 30;
    for (std::size_t off = 0; off < out.size(); off += kChunk) {
      const std::size_t n = std::min(kChunk, out.size() - off);
      if (RAND_bytes(out.data() + off, static_cast<int>(n)) != 1) {
        return Status(Code::kInternal, "OpenSSL RAND_bytes failed");
      }
    }
    return Status::ok();
  };
}

RandomSource deterministic_random(const Key32& seed) {
  // One stream per source, created on first use: the keystream of the
  // seed (nonce 0, counter 0) handed out in order.
  auto prg = std::make_shared<std::unique_ptr<Prg>>();
  return [prg, seed](std::span<std::uint8_t> out) -> Status {
    if (!*prg) {
      auto created = Prg::create(seed);
      if (!created.is_ok()) return created.status();
      *prg = std::make_unique<Prg>(std::move(created).value());
    }
    std::fill(out.begin(), out.end(), std::uint8_t{0});
    return (*prg)->xor_stream(out, out);
  };
}

Result<Key32> random_key(const RandomSource& random) {
  Key32 key{};
  EDGEFED_RETURN_IF_ERROR(random(key));
  return key;
}

}  // namespace edgefed::secagg
