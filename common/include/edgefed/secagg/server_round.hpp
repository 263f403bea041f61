// ServerRound: the server's side of one SecAgg+ session (a sync round or an
// async cohort) as a transport-free state machine. The driver feeds it
// the agents' messages, closes each phase (at a deadline, or when every
// expected agent answered), hands out what it produces, and stores
// snapshot() after every call that changed it.
//
// Phases, in order (any of them may end in kAborted):
//   kAdvertise  on_advertise()         until close_advertise(seed):
//               U1 = the agents that advertised; RoundSetup per agent
//   kShares     on_share_upload()      until close_shares():
//               U2 = the senders, pruned; ShareDelivery per agent in U2
//   kMasked     on_masked_input()      until close_masked():
//               U3 = the senders; UnmaskRequest per agent in U3
//   kUnmask     on_unmask_response()   until finish():
//               the weighted mean of the survivors' updates
//   kDone       result() holds it.
// Pruning: an agent of U2 with fewer than t graph neighbours in U2 could
// never be unmasked (its shares live with its neighbours only), so it is
// dropped from U2 before the deliveries, repeatedly until none is left;
// its agent then gets no ShareDelivery.
//
// PRIVACY: this state machine never holds an individual unmasked update;
// it only ever sees masked vectors. Each masked input is added at once to
// a running ring sum and only its SHA-256 is kept (to tell a replay from a
// conflicting resend): no per-agent vector is kept, in memory or in a
// snapshot, beyond that sum. The only unmasked vector is the final sum
// over at least t survivors. Shares reach the server sealed (share
// envelopes); an unmask response gives, per agent, shares of either its
// self seed or its mask key, never both (the agents enforce it; the server
// also refuses a response that mixes them).
//
// Result: sum over U3 of q(w_u x_u), dequantized, times
// sum_{U1} n / sum_{U3} n, where w_u = n_u / sum_{U1} n: the
// num_samples-weighted MEAN of the survivors' updates. Error per
// coordinate: at most |U3| * step / 2 * sum_{U1} n / sum_{U3} n (step:
// quantizer.hpp, K = |U1|, C = config.clip), plus float rounding, for
// weighted values inside [-C, C].
//
// Idempotence: a message equal to one already accepted is accepted again
// (Status ok, no change) in any later phase, so a retry after a link cut
// is harmless; a different message from the same sender -> kConflict.
//
// Thread safety: none; the driver serialises calls.
// Errors (one-line messages):
//   kInvalidArgument  a message for another session, a malformed or
//                     inconsistent message (an envelope for a
//                     non-neighbour, a missing one, a wrong vector length,
//                     a share for an id not asked), a bad configuration,
//                     a corrupt snapshot;
//   kPermissionDenied a sender not in the set the phase admits (not in U1,
//                     U2 or U3): the driver authenticates agents and maps
//                     them to ids, this is the check that remains;
//   kConflict         a call in the wrong phase (with the phase named), a
//                     different message from a sender already heard, any
//                     call on an aborted session (with the reason);
//   kNotFound         setup_for/delivery_for/unmask_request_for an agent
//                     the phase does not address;
//   kUnprocessable    what aborts the session: too few agents in a phase,
//                     an impossible reconstruction, shares that do not
//                     reconstruct to the advertised key. The session is then
//                     kAborted and abort_status() says why; its agents
//                     resubmit elsewhere (the driver's business).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/secagg/communication_graph.hpp"
#include "edgefed/secagg/messages.hpp"
#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

enum class ServerPhase : std::uint8_t { kAdvertise, kShares, kMasked, kUnmask, kDone, kAborted };
std::string_view phase_name(ServerPhase phase);

struct ServerRoundConfig {
  std::string session;              // valid_session_id
  std::uint64_t vector_length = 0;  // coordinates of every update, 1..kMaxVectorLength
  double clip = 0;                  // the quantizer's C (quantizer.hpp), finite, > 0
  std::uint64_t min_agents = 3;     // refuse a session with fewer in U1; at least 3
  std::uint64_t degree = 0;         // k; 0: choose_parameters(|U1|). Capped at |U1| - 1.

  bool operator==(const ServerRoundConfig&) const = default;
};

struct AggregateResult {
  std::vector<float> mean;             // num_samples-weighted mean over U3
  std::vector<AgentId> survivors;      // U3, ascending
  std::uint64_t survivor_samples = 0;  // sum over U3 of num_samples
};

class ServerRound {
 public:
  static Result<ServerRound> create(ServerRoundConfig config);
  // A state from snapshot(); a corrupt, truncated or foreign snapshot ->
  // kInvalidArgument, never a crash.
  static Result<ServerRound> restore(std::span<const std::uint8_t> snapshot);
  // Versioned, checksummed bytes of the whole state (see privacy above:
  // no individual vector in it). Its size: the running sum (4 bytes per
  // coordinate) plus the envelopes (about 150 bytes per graph edge).
  std::vector<std::uint8_t> snapshot() const;

  const ServerRoundConfig& config() const { return config_; }
  ServerPhase phase() const { return phase_; }
  // Why the session aborted (ok unless kAborted).
  const Status& abort_status() const { return abort_status_; }
  // Ends the session for the driver's reasons (shutdown, a deadline it
  // gives up on); a no-op once done or aborted.
  void abort(std::string reason);

  // kAdvertise.
  Status on_advertise(const AdvertiseKeys& m);
  // The random seed of the graph: the driver draws it (system_random())
  // and the agents rebuild the graph from it and U1. Aborts when |U1| is
  // below max(min_agents, 3).
  Status close_advertise(const Key32& graph_seed);
  // From kShares on, for an agent of U1.
  Result<RoundSetup> setup_for(AgentId agent) const;

  // kShares.
  Status on_share_upload(const ShareUpload& m);
  // Aborts when |U2| (after pruning) < t.
  Status close_shares();
  // From kMasked on, for an agent of U2.
  Result<ShareDelivery> delivery_for(AgentId agent) const;

  // kMasked. The vector joins the running sum at once.
  Status on_masked_input(const MaskedInput& m);
  // Aborts when |U3| < t, or when even answers from all of U3 could not
  // rebuild some survivor's self seed or some needed dropout key.
  Status close_masked();
  // From kUnmask on, for an agent of U3.
  Result<UnmaskRequest> unmask_request_for(AgentId agent) const;

  // kUnmask. A response must hold exactly the shares asked of its sender.
  Status on_unmask_response(const UnmaskResponse& m);
  // Whether the responses so far hold t shares of every secret finish()
  // needs.
  bool ready_to_finish() const;
  // Reconstructs, unmasks and dequantizes; kDone. An impossible
  // reconstruction aborts. Once done, returns the same result again.
  Result<AggregateResult> finish();
  // kDone only.
  Result<AggregateResult> result() const;

  // U1, U2, U3 as far as they are known (ascending; empty before).
  std::vector<AgentId> advertised() const;
  const std::vector<AgentId>& share_senders() const { return u2_; }
  const std::vector<AgentId>& masked_senders() const { return u3_; }
  // k and t (0 before close_advertise).
  std::uint64_t degree() const { return degree_; }
  std::uint64_t threshold() const { return threshold_; }

 private:
  explicit ServerRound(ServerRoundConfig config);
  friend struct ServerRoundCodec;  // snapshot encoding (server_round_snapshot.cpp)

  Status check(std::string_view session, ServerPhase want, std::string_view what) const;
  Status fail(std::string reason);  // aborts, returns the kUnprocessable
  Status build_graph();
  bool in_u2(AgentId id) const;
  bool in_u3(AgentId id) const;
  // The owners whose seed (survivors) or key (dropouts) shares `v` is asked for.
  void asked_of(AgentId v, std::vector<AgentId>& seeds, std::vector<AgentId>& keys) const;
  // Ids whose secret cannot be rebuilt from the responders `from`.
  std::vector<AgentId> unrecoverable(const std::set<AgentId>& from) const;

  ServerRoundConfig config_;
  ServerPhase phase_ = ServerPhase::kAdvertise;
  Status abort_status_;
  std::map<AgentId, AdvertiseKeys> adverts_;  // U1 once closed
  std::uint64_t total_samples_ = 0;           // over U1
  std::optional<Key32> graph_seed_;
  std::uint64_t degree_ = 0;
  std::uint64_t threshold_ = 0;
  std::optional<CommunicationGraph> graph_;  // rebuilt from U1 and the seed
  std::map<AgentId, ShareUpload> uploads_;   // by sender
  std::vector<AgentId> u2_;
  std::vector<std::uint32_t> masked_sum_;  // ring sum over the masked inputs so far
  std::map<AgentId, std::array<std::uint8_t, 32>> masked_digests_;
  std::vector<AgentId> u3_;
  std::map<AgentId, UnmaskResponse> responses_;
  std::optional<AggregateResult> result_;
};

}  // namespace edgefed::secagg
