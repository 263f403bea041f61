#include "edgefed/secagg/share_envelope.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>

#include "edgefed/secagg/aead.hpp"
#include "edgefed/secagg/key_schedule.hpp"
#include "wire.hpp"

namespace edgefed::secagg {
namespace {

constexpr std::uint8_t kEnvelopeVersion = 1;
constexpr std::string_view kAadLabel = "edgefed/secagg/v1/shares";
constexpr std::size_t kPlaintextBytes = 1 + 8 + 8 + 2 * kShareWireBytes;
constexpr std::size_t kEnvelopeBytes = kAeadNonceBytes + kPlaintextBytes + kAeadTagBytes;

std::uint64_t get_be64(std::span<const std::uint8_t> in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | in[i];
  return v;
}

Result<std::vector<std::uint8_t>> make_aad(std::string_view session, AgentId from, AgentId to) {
  if (from == to) return Status(Code::kInvalidArgument, "share envelope from agent " + std::to_string(from) + " to itself");
  if (session.empty() || session.size() > kMaxSessionBytes) {
    return Status(Code::kInvalidArgument, "secure aggregation session id must be 1..1024 bytes");
  }
  std::vector<std::uint8_t> aad(kAadLabel.begin(), kAadLabel.end());
  aad.push_back(0);
  wire::put_be(aad, session.size(), 4);
  aad.insert(aad.end(), session.begin(), session.end());
  wire::put_be(aad, from, 8);
  wire::put_be(aad, to, 8);
  return aad;
}

}  // namespace

Result<std::vector<std::uint8_t>> seal_shares(const Key32& share_key, std::string_view session, AgentId from,
                                              AgentId to, const ShareBundle& shares, const RandomSource& random) {
  auto aad = make_aad(session, from, to);
  if (!aad.is_ok()) return aad.status();
  if (shares.self_seed_share.x != to || shares.mask_key_share.x != to) {
    return Status(Code::kInvalidArgument, "shares sealed for agent " + std::to_string(to) +
                                              " are not that agent's shares (x-coordinate differs)");
  }
  std::vector<std::uint8_t> plaintext;
  plaintext.reserve(kPlaintextBytes);
  plaintext.push_back(kEnvelopeVersion);
  wire::put_be(plaintext, from, 8);
  wire::put_be(plaintext, to, 8);
  for (const ShamirShare* s : {&shares.self_seed_share, &shares.mask_key_share}) {
    const std::vector<std::uint8_t> wire = serialize_share(*s);
    plaintext.insert(plaintext.end(), wire.begin(), wire.end());
  }
  std::vector<std::uint8_t> envelope(kAeadNonceBytes);
  EDGEFED_RETURN_IF_ERROR(random(envelope));
  auto sealed = aead_seal(share_key, envelope, *aad, plaintext);
  OPENSSL_cleanse(plaintext.data(), plaintext.size());
  if (!sealed.is_ok()) return sealed.status();
  envelope.insert(envelope.end(), sealed->begin(), sealed->end());
  return envelope;
}

Result<ShareBundle> open_shares(const Key32& share_key, std::string_view session, AgentId from, AgentId to,
                                std::span<const std::uint8_t> envelope) {
  auto aad = make_aad(session, from, to);
  if (!aad.is_ok()) return aad.status();
  if (envelope.size() != kEnvelopeBytes) {
    return Status(Code::kInvalidArgument, "share envelope must be " + std::to_string(kEnvelopeBytes) +
                                              " bytes, got " + std::to_string(envelope.size()));
  }
  auto plaintext = aead_open(share_key, envelope.first(kAeadNonceBytes), *aad, envelope.subspan(kAeadNonceBytes));
  if (!plaintext.is_ok()) {
    return Status(plaintext.status().code(), "share envelope from agent " + std::to_string(from) + " to agent " +
                                                 std::to_string(to) + ": " + plaintext.status().message());
  }
  const std::span<const std::uint8_t> p(*plaintext);
  // Authentic, so written by the holder of the key; checked all the same.
  if (p[0] != kEnvelopeVersion || get_be64(p.subspan(1)) != from || get_be64(p.subspan(9)) != to) {
    OPENSSL_cleanse(plaintext->data(), plaintext->size());
    return Status(Code::kInvalidArgument, "share envelope has an unknown version or the wrong sender or recipient");
  }
  auto seed_share = parse_share(p.subspan(17, kShareWireBytes));
  auto key_share = parse_share(p.subspan(17 + kShareWireBytes, kShareWireBytes));
  OPENSSL_cleanse(plaintext->data(), plaintext->size());
  if (!seed_share.is_ok()) return seed_share.status();
  if (!key_share.is_ok()) return key_share.status();
  if (seed_share->x != to || key_share->x != to) {
    return Status(Code::kUnprocessable, "share envelope for agent " + std::to_string(to) +
                                            " holds shares of another holder");
  }
  return ShareBundle{*seed_share, *key_share};
}

}  // namespace edgefed::secagg
