// ClientRound: an agent's side of one SecAgg+ session as a transport-free
// state machine. The driver sends advertise(), then hands each message
// from the server to the matching on_*() and sends what it returns; it
// stores snapshot() (in the agent's outbox) after every call that changed
// it and before sending the answer, so a crash or restart resumes exactly.
//
// Phases:
//   kAdvertised  created: fresh X25519 key pairs (envelopes, masks)
//   kSharesSent  on_setup(): checked the setup against the graph rebuilt
//                from its seed and U1, drew the self seed b, Shamir-shared
//                b and the mask secret key (threshold t) among the
//                neighbours, sealed one envelope per neighbour
//   kMaskedSent  on_delivery(): opened the envelopes, kept the shares
//                held for each neighbour, masked its quantized weighted
//                update against b and its neighbours in U2
//   kDone        on_unmask(): answered, for each neighbour in U2, either
//                its share of the neighbour's self seed (a survivor) or of
//                its mask key (a dropout), never both
//
// Retries: a message equal to one already answered gets the same answer
// again (the stored one, bytes unchanged), in any later phase; a different
// message for a step already answered -> kConflict and nothing new is
// revealed. In particular a second unmask request with other sets is
// refused, and the first answer stays the only one.
//
// Refusals that reveal nothing and leave the state unchanged (the agent is
// then a dropout, unless the server retries with a correct message):
//   a message for another session or another agent -> kInvalidArgument;
//   a setup whose graph does not give the listed neighbours, whose t is
//     not k / 2 + 1, whose cohort size is not |U1|, or with an unusable
//     neighbour key -> kInvalidArgument;
//   a delivery whose U2 is not within U1 or lacks this agent, that misses
//     an envelope of a neighbour in U2 or holds one from anyone else, or
//     with an update or quantizer that does not match the setup ->
//     kInvalidArgument; fewer than t neighbours in U2 (this agent could
//     never be unmasked) -> kUnprocessable;
//   a delivery with an envelope that does not open (tampered with, or
//     meant for another agent or session) -> kUnauthenticated: the whole
//     delivery is refused rather than the sender skipped, because the
//     server sums assuming every agent masked with all its neighbours in
//     U2; skipping one would leave that pair's mask in the sum;
//   an unmask request naming an agent both survivor and dropout, not
//     naming this agent a survivor, whose sets do not partition U2, or
//     with fewer than t survivors -> kInvalidArgument / kUnprocessable;
//   a call in the wrong phase -> kConflict.
//
// Secrets: the snapshot holds the secret keys and b until the masked input
// is made, then they are wiped; the shares held for neighbours are wiped
// once the unmask response is made. The snapshot is not encrypted: store
// it like the agent's key material.
// Thread safety: none; the driver serialises calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgefed/secagg/messages.hpp"
#include "edgefed/secagg/quantizer.hpp"
#include "edgefed/secagg/random_source.hpp"
#include "edgefed/secagg/share_envelope.hpp"
#include "edgefed/secagg/types.hpp"
#include "edgefed/secagg/x25519.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

enum class ClientPhase : std::uint8_t { kAdvertised, kSharesSent, kMaskedSent, kDone };
std::string_view phase_name(ClientPhase phase);

class ClientRound {
 public:
  // Errors: a bad session id, agent id or num_samples -> kInvalidArgument;
  // a failing RandomSource -> its Status.
  static Result<ClientRound> create(std::string session, AgentId self, std::uint64_t num_samples,
                                    const RandomSource& random);
  // A state from snapshot(); a corrupt, truncated or foreign snapshot ->
  // kInvalidArgument, never a crash.
  static Result<ClientRound> restore(std::span<const std::uint8_t> snapshot);
  std::vector<std::uint8_t> snapshot() const;

  ClientPhase phase() const { return phase_; }
  const std::string& session() const { return advert_.session; }
  AgentId agent() const { return advert_.agent; }
  // The message to send first (and to resend until the setup comes).
  const AdvertiseKeys& advertise() const { return advert_; }
  // The accepted setup (from kSharesSent on).
  const std::optional<RoundSetup>& setup() const { return setup_; }
  // The quantizer the setup asks for (K, C); kConflict before the setup.
  Result<Quantizer> quantizer() const;

  // `random` draws b, the Shamir coefficients and the envelope nonces.
  Result<ShareUpload> on_setup(const RoundSetup& setup, const RandomSource& random);
  // `update`: the agent's update x (vector_length floats, norm-clipped by
  // the driver); it is weighted by the setup's weight, quantized with
  // `quantizer` (which must be the setup's: same K and C) and masked.
  Result<MaskedInput> on_delivery(const ShareDelivery& delivery, std::span<const float> update,
                                  const Quantizer& quantizer);
  Result<UnmaskResponse> on_unmask(const UnmaskRequest& request);

 private:
  ClientRound() = default;
  friend struct ClientRoundCodec;  // snapshot encoding (client_round_snapshot.cpp)

  Status addressed(std::string_view session, AgentId to, std::string_view what) const;
  Result<Key32> share_key(const NeighbourKeys& peer) const;
  void wipe_secrets();

  ClientPhase phase_ = ClientPhase::kAdvertised;
  AdvertiseKeys advert_;
  X25519KeyPair enc_;
  X25519KeyPair mask_;
  Key32 self_seed_{};
  bool secrets_wiped_ = false;
  std::optional<RoundSetup> setup_;
  std::optional<ShareUpload> upload_;
  std::optional<ShareDelivery> delivery_;
  std::map<AgentId, ShareBundle> held_;  // shares of each neighbour in U2, by owner
  std::optional<MaskedInput> masked_;
  std::optional<UnmaskRequest> request_;
  std::optional<UnmaskResponse> response_;
};

}  // namespace edgefed::secagg
