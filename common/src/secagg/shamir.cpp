#include "edgefed/secagg/shamir.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>

#include "edgefed/secagg/prime_field.hpp"
#include "wire.hpp"

namespace edgefed::secagg {
namespace {

constexpr std::uint8_t kShareVersion = 1;
// Chunk c covers secret bytes [7c, 7c + width): four of 7 bytes, one of 4.
constexpr std::size_t kChunkBytes = 7;

std::size_t chunk_width(std::size_t c) { return std::min(kChunkBytes, kKeyBytes - c * kChunkBytes); }

std::array<std::uint64_t, kShareChunks> split(const Key32& secret) {
  std::array<std::uint64_t, kShareChunks> chunks{};
  for (std::size_t c = 0; c < kShareChunks; ++c) {
    for (std::size_t i = 0; i < chunk_width(c); ++i) chunks[c] = chunks[c] << 8 | secret[c * kChunkBytes + i];
  }
  return chunks;
}

// A chunk value beyond its width cannot come from a secret: the shares
// were altered or belong to different polynomials.
bool join(const std::array<std::uint64_t, kShareChunks>& chunks, Key32& secret) {
  for (std::size_t c = 0; c < kShareChunks; ++c) {
    const std::size_t width = chunk_width(c);
    if (chunks[c] >> (8 * width) != 0) return false;
    for (std::size_t i = 0; i < width; ++i) {
      secret[c * kChunkBytes + i] = static_cast<std::uint8_t>(chunks[c] >> (8 * (width - 1 - i)));
    }
  }
  return true;
}

Status check_x(std::uint64_t x) {
  if (x == 0 || x >= kFieldPrime) {
    return Status(Code::kInvalidArgument,
                  "Shamir x-coordinate must be in 1..2^61-2, got " + std::to_string(x));
  }
  return Status::ok();
}

// A uniform field element: 61 random bits, redrawn on the one value >= p.
Result<std::uint64_t> random_element(const RandomSource& random) {
  for (;;) {
    std::array<std::uint8_t, 8> b{};
    EDGEFED_RETURN_IF_ERROR(random(b));
    std::uint64_t v = 0;
    for (std::uint8_t byte : b) v = v << 8 | byte;
    v &= kFieldPrime;
    if (v < kFieldPrime) return v;
  }
}

// Lagrange basis weights at point z for the nodes xs: w_j = prod_{m != j}
// (z - x_m) / (x_j - x_m). REQUIRES: distinct nodes.
std::vector<std::uint64_t> lagrange_weights(std::span<const std::uint64_t> xs, std::uint64_t z) {
  std::vector<std::uint64_t> w(xs.size());
  for (std::size_t j = 0; j < xs.size(); ++j) {
    std::uint64_t num = 1;
    std::uint64_t den = 1;
    for (std::size_t m = 0; m < xs.size(); ++m) {
      if (m == j) continue;
      num = field_mul(num, field_sub(z, xs[m]));
      den = field_mul(den, field_sub(xs[j], xs[m]));
    }
    w[j] = field_mul(num, field_inverse(den));
  }
  return w;
}

std::uint64_t get_be(std::span<const std::uint8_t> in, std::size_t& pos, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | in[pos++];
  return v;
}

}  // namespace

Result<std::vector<ShamirShare>> shamir_share(const Key32& secret, std::size_t threshold,
                                              std::span<const AgentId> holders, const RandomSource& random) {
  if (holders.size() > kMaxShareHolders) {
    return Status(Code::kInvalidArgument, "Shamir sharing among " + std::to_string(holders.size()) +
                                              " holders; at most 65535");
  }
  if (threshold == 0 || threshold > holders.size()) {
    return Status(Code::kInvalidArgument, "Shamir threshold " + std::to_string(threshold) + " must be in 1.." +
                                              std::to_string(holders.size()) + " (the number of holders)");
  }
  std::vector<AgentId> sorted(holders.begin(), holders.end());
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    EDGEFED_RETURN_IF_ERROR(check_x(sorted[i]));
    if (i > 0 && sorted[i] == sorted[i - 1]) {
      return Status(Code::kInvalidArgument, "Shamir holder x-coordinate " + std::to_string(sorted[i]) + " given twice");
    }
  }
  // coefficients[c][0] is chunk c of the secret; the t - 1 others are random.
  std::array<std::uint64_t, kShareChunks> chunks = split(secret);
  std::vector<std::array<std::uint64_t, kShareChunks>> coefficients(threshold);
  coefficients[0] = chunks;
  for (std::size_t k = 1; k < threshold; ++k) {
    for (std::size_t c = 0; c < kShareChunks; ++c) {
      auto e = random_element(random);
      if (!e.is_ok()) return e.status();
      coefficients[k][c] = *e;
    }
  }
  std::vector<ShamirShare> shares;
  shares.reserve(holders.size());
  for (AgentId x : holders) {
    ShamirShare s;
    s.x = x;
    s.threshold = static_cast<std::uint16_t>(threshold);
    for (std::size_t c = 0; c < kShareChunks; ++c) {
      std::uint64_t acc = 0;  // Horner, highest coefficient first
      for (std::size_t k = threshold; k-- > 0;) acc = field_add(field_mul(acc, x), coefficients[k][c]);
      s.y[c] = acc;
    }
    shares.push_back(s);
  }
  OPENSSL_cleanse(chunks.data(), sizeof(chunks));
  OPENSSL_cleanse(coefficients.data(), coefficients.size() * sizeof(coefficients[0]));
  return shares;
}

Result<Key32> shamir_reconstruct(std::span<const ShamirShare> shares, std::size_t threshold) {
  if (threshold == 0 || threshold > kMaxShareHolders) {
    return Status(Code::kInvalidArgument, "Shamir threshold " + std::to_string(threshold) + " must be in 1..65535");
  }
  if (shares.size() < threshold) {
    return Status(Code::kUnprocessable, "Shamir reconstruction needs " + std::to_string(threshold) +
                                            " shares, has " + std::to_string(shares.size()));
  }
  std::vector<std::uint64_t> xs;
  xs.reserve(shares.size());
  for (const ShamirShare& s : shares) {
    EDGEFED_RETURN_IF_ERROR(check_x(s.x));
    if (s.threshold != threshold) {
      return Status(Code::kUnprocessable, "Shamir share of holder " + std::to_string(s.x) + " was made for threshold " +
                                              std::to_string(s.threshold) + ", expected " + std::to_string(threshold));
    }
    for (std::uint64_t y : s.y) {
      if (y >= kFieldPrime) {
        return Status(Code::kInvalidArgument,
                      "Shamir share of holder " + std::to_string(s.x) + " has a value outside the field");
      }
    }
    xs.push_back(s.x);
  }
  std::vector<std::uint64_t> sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end()) {
    return Status(Code::kInvalidArgument, "Shamir shares hold x-coordinate " + std::to_string(*dup) + " twice");
  }
  const std::span<const std::uint64_t> basis(xs.data(), threshold);
  std::array<std::uint64_t, kShareChunks> chunks{};
  const std::vector<std::uint64_t> at_zero = lagrange_weights(basis, 0);
  for (std::size_t j = 0; j < threshold; ++j) {
    for (std::size_t c = 0; c < kShareChunks; ++c) chunks[c] = field_add(chunks[c], field_mul(shares[j].y[c], at_zero[j]));
  }
  // Shares beyond the first t must lie on the same polynomials.
  for (std::size_t e = threshold; e < shares.size(); ++e) {
    const std::vector<std::uint64_t> at_x = lagrange_weights(basis, shares[e].x);
    for (std::size_t c = 0; c < kShareChunks; ++c) {
      std::uint64_t y = 0;
      for (std::size_t j = 0; j < threshold; ++j) y = field_add(y, field_mul(shares[j].y[c], at_x[j]));
      if (y != shares[e].y[c]) {
        return Status(Code::kUnprocessable, "Shamir shares are inconsistent: holder " + std::to_string(shares[e].x) +
                                                "'s share is not on the polynomial of the others");
      }
    }
  }
  Key32 secret{};
  const bool ok = join(chunks, secret);
  OPENSSL_cleanse(chunks.data(), sizeof(chunks));
  if (!ok) {
    return Status(Code::kUnprocessable, "Shamir shares are inconsistent: the reconstructed value is not a secret");
  }
  return secret;
}

std::vector<std::uint8_t> serialize_share(const ShamirShare& share) {
  std::vector<std::uint8_t> out;
  out.reserve(kShareWireBytes);
  out.push_back(kShareVersion);
  wire::put_be(out, share.threshold, 2);
  wire::put_be(out, share.x, 8);
  for (std::uint64_t y : share.y) wire::put_be(out, y, 8);
  return out;
}

Result<ShamirShare> parse_share(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kShareWireBytes) {
    return Status(Code::kInvalidArgument, "Shamir share must be " + std::to_string(kShareWireBytes) +
                                              " bytes, got " + std::to_string(bytes.size()));
  }
  if (bytes[0] != kShareVersion) {
    return Status(Code::kInvalidArgument, "Shamir share has unknown version " + std::to_string(bytes[0]));
  }
  std::size_t pos = 1;
  ShamirShare s;
  s.threshold = static_cast<std::uint16_t>(get_be(bytes, pos, 2));
  s.x = get_be(bytes, pos, 8);
  for (std::uint64_t& y : s.y) y = get_be(bytes, pos, 8);
  if (s.threshold == 0) return Status(Code::kInvalidArgument, "Shamir share has threshold 0");
  EDGEFED_RETURN_IF_ERROR(check_x(s.x));
  for (std::uint64_t y : s.y) {
    if (y >= kFieldPrime) return Status(Code::kInvalidArgument, "Shamir share has a value outside the field");
  }
  return s;
}

}  // namespace edgefed::secagg
