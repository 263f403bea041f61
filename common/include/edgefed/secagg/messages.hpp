// The messages of one SecAgg+ session (a sync round or an async cohort),
// in the order they travel:
//   agent  -> server  AdvertiseKeys    its two X25519 public keys, num_samples
//   server -> agent   RoundSetup       the graph, its neighbours' keys, weight
//   agent  -> server  ShareUpload      one sealed envelope per neighbour
//   server -> agent   ShareDelivery    the envelopes addressed to it, U2
//   agent  -> server  MaskedInput      its masked, quantized, weighted update
//   server -> agent   UnmaskRequest    survivors U3 and dropouts U2 \ U3
//   agent  -> server  UnmaskResponse   its shares of survivors' self seeds
//                                      and of dropouts' mask keys
// server_round.hpp and client_round.hpp are the two state machines that
// produce and consume them; these types only carry and (de)serialise.
//
// JSON: one object per message, with a "type" member naming it and
// exactly the members below (an unknown or missing member is refused).
// Ids are JSON integers in [1, kMaxAgentId] (they are Shamir
// x-coordinates); id lists and per-id arrays are strictly ascending, so a
// message has exactly one canonical text and equality of the structs is
// byte-identity of the texts. Keys, envelopes and shares are base64
// (RFC 4648, padded, canonical). The masked vector is base64 of its
// little-endian uint32 words, next to an explicit "length".
//   advertise_keys:  session, agent, enc_public_key, mask_public_key, num_samples
//   round_setup:     session, agent, graph_seed, degree, threshold, agents,
//                    neighbours [{agent, enc_public_key, mask_public_key,
//                    num_samples}], weight, cohort_size, clip, vector_length
//   share_upload:    session, agent, envelopes [{to, envelope}]
//   share_delivery:  session, agent, senders, envelopes [{from, envelope}]
//   masked_input:    session, agent, length, values
//   unmask_request:  session, agent, survivors, dropouts
//   unmask_response: session, agent, seed_shares [{owner, share}],
//                    key_shares [{owner, share}]
// "agent" is the sender of agent -> server messages and the recipient of
// server -> agent ones.
//
// Thread safety: plain values.
// Errors: from_json never throws; anything malformed (wrong type, a
// missing or extra member, an id out of range, unsorted or repeated ids,
// bad base64, a key of the wrong size, a length that disagrees with the
// values) -> kInvalidArgument with a one-line reason naming the member.
// to_json REQUIRES a valid message (a session id from valid_session_id,
// finite numbers); what from_json accepts, to_json writes back unchanged.
// Size: the JSON texts of masked_input grow with the vector (about 5.4
// bytes per coordinate); the driver sizes parse_json's max_bytes to that.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "edgefed/secagg/aead.hpp"
#include "edgefed/secagg/prime_field.hpp"
#include "edgefed/secagg/shamir.hpp"
#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

// Ids are Shamir x-coordinates: nonzero and below the field's prime.
inline constexpr AgentId kMaxAgentId = kFieldPrime - 1;
// Agents in one session (the Shamir holder limit bounds the degree anyway).
inline constexpr std::size_t kMaxSessionAgents = kMaxShareHolders;
// num_samples per agent; the sums over a session stay exact in a double.
inline constexpr std::uint64_t kMaxNumSamples = std::uint64_t{1} << 36;
// Coordinates of one update.
inline constexpr std::uint64_t kMaxVectorLength = std::uint64_t{1} << 28;
// A share envelope (share_envelope.hpp): nonce | sealed plaintext | tag.
inline constexpr std::size_t kShareEnvelopeBytes = kAeadNonceBytes + 1 + 8 + 8 + 2 * kShareWireBytes + kAeadTagBytes;

// 1-128 characters of [A-Za-z0-9._:-]: session ids go into HKDF info,
// AADs, SQLite keys and log lines.
bool valid_session_id(std::string_view session);

struct AdvertiseKeys {
  std::string session;
  AgentId agent = 0;
  Key32 enc_public_key{};         // keys the share envelopes
  Key32 mask_public_key{};        // seeds the pairwise masks
  std::uint64_t num_samples = 0;  // 1..kMaxNumSamples

  bool operator==(const AdvertiseKeys&) const = default;
  nlohmann::json to_json() const;
  static Result<AdvertiseKeys> from_json(const nlohmann::json& j);
};

struct NeighbourKeys {
  AgentId agent = 0;
  Key32 enc_public_key{};
  Key32 mask_public_key{};
  std::uint64_t num_samples = 0;

  bool operator==(const NeighbourKeys&) const = default;
};

struct RoundSetup {
  std::string session;
  AgentId agent = 0;  // the recipient
  Key32 graph_seed{};
  std::uint64_t degree = 0;               // k
  std::uint64_t threshold = 0;            // t = k / 2 + 1
  std::vector<AgentId> agents;            // U1, ascending: with the seed, the graph
  std::vector<NeighbourKeys> neighbours;  // the recipient's, ascending by id
  double weight = 0;                      // num_samples of the recipient / sum over U1, in (0, 1]
  std::uint64_t cohort_size = 0;          // the quantizer's K = |U1|
  double clip = 0;                        // the quantizer's C
  std::uint64_t vector_length = 0;

  bool operator==(const RoundSetup&) const = default;
  nlohmann::json to_json() const;
  static Result<RoundSetup> from_json(const nlohmann::json& j);
};

struct ShareUpload {
  std::string session;
  AgentId agent = 0;                                       // the sender
  std::map<AgentId, std::vector<std::uint8_t>> envelopes;  // by recipient

  bool operator==(const ShareUpload&) const = default;
  nlohmann::json to_json() const;
  static Result<ShareUpload> from_json(const nlohmann::json& j);
};

struct ShareDelivery {
  std::string session;
  AgentId agent = 0;                                       // the recipient
  std::vector<AgentId> senders;                            // U2, ascending
  std::map<AgentId, std::vector<std::uint8_t>> envelopes;  // by sender

  bool operator==(const ShareDelivery&) const = default;
  nlohmann::json to_json() const;
  static Result<ShareDelivery> from_json(const nlohmann::json& j);
};

struct MaskedInput {
  std::string session;
  AgentId agent = 0;                  // the sender
  std::vector<std::uint32_t> values;  // y = q(w x) + masks, mod 2^32

  bool operator==(const MaskedInput&) const = default;
  nlohmann::json to_json() const;
  static Result<MaskedInput> from_json(const nlohmann::json& j);
};

struct UnmaskRequest {
  std::string session;
  AgentId agent = 0;               // the recipient
  std::vector<AgentId> survivors;  // U3, ascending
  std::vector<AgentId> dropouts;   // U2 \ U3, ascending

  bool operator==(const UnmaskRequest&) const = default;
  nlohmann::json to_json() const;
  static Result<UnmaskRequest> from_json(const nlohmann::json& j);
};

struct UnmaskResponse {
  std::string session;
  AgentId agent = 0;                           // the sender; every share's x is this id
  std::map<AgentId, ShamirShare> seed_shares;  // by owner, a survivor: of b_owner
  std::map<AgentId, ShamirShare> key_shares;   // by owner, a dropout: of its mask secret key

  bool operator==(const UnmaskResponse&) const = default;
  nlohmann::json to_json() const;
  static Result<UnmaskResponse> from_json(const nlohmann::json& j);
};

}  // namespace edgefed::secagg
