// SecAggDriver: the agent's side of secure aggregation (SecAgg+,
// docs/secure-aggregation.md) over its Link and Outbox, for AgentLoop when
// the task says secure_aggregation = secagg+:
//   join()   POST /v1/secagg/join for the model held, before training
//   start()  a fresh ClientRound for the trained delta, stored in the
//            outbox (snapshot + delta) before anything of it is sent
//   step()   one poll of the stored round: GET /v1/secagg/next, hand the
//            server's message to the ClientRound, store its new snapshot,
//            THEN post the answer (a crash in between re-derives the same
//            answer: the ClientRound answers a retry with the stored one)
// The round survives restarts (load() takes it back from the outbox) and
// ends, deleted and counted in the outbox journal, when the server says
// done, aborted or excluded, does not know the session (404), or sends a
// message the ClientRound refuses (logged, counted as aborted; never a
// crash). Each end is logged as `secagg_round_ended`.
//
// Thread safety: none; the agent's thread. Ownership: the outbox, link and
// clock are borrowed and must outlive the driver.
// Errors: only the outbox's (kUnavailable: transient, nothing changed;
// kIo: unusable); what the server or the network does is an outcome.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/link/link.hpp"
#include "agent/loop/round_trainer.hpp"
#include "agent/outbox/outbox.hpp"
#include "edgefed/clock.hpp"
#include "edgefed/secagg/client_round.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

// What a join came to.
struct SecAggJoin {
  enum class Kind {
    kJoined,      // session is the one to take part in
    kRetry,       // no answer, 429, 5xx other than 503: try later
    kRoundFull,   // {"type":"round_full"}: the sync round is full, wait for the next version
    kModelMoved,  // 409: the server is on another version, refresh the plan
    kRefused,     // another refusal (no secure aggregation there, a bad answer)
  };
  Kind kind = Kind::kRetry;
  std::string session;
  Status status;  // why, unless kJoined
};

// What one step() did.
struct SecAggStep {
  bool ended = false;  // the round ended and was deleted
  SecAggEnd how = SecAggEnd::kAborted;
  // "done", "aborted", "excluded", "unknown_session" (404), "refused" (a
  // server message or answer this agent refuses)
  std::string outcome;
  int64_t base_version = 0;  // of the round that ended
};

// What the task moves to the agent under secure aggregation
// (docs/secure-aggregation.md, "Clipping and DP move to the agents").
struct SecAggPrivacy {
  double clip_norm = 0;         // the delta's L2 norm is clipped to this (0 = off)
  double noise_multiplier = 0;  // z > 0: num_samples 1, and N(0, (z clip_norm)^2 / t) per coordinate
};

class SecAggDriver {
 public:
  SecAggDriver(Outbox& outbox, Link& link, const Clock& clock, std::string agent_id);

  // Takes back the round stored by an earlier run, if any.
  Status load();
  // Whether a round is stored (and not ended).
  bool active() const { return round_.has_value() || !loaded_; }
  // The stored round's session ("" if none).
  std::string session() const { return round_ ? round_->stored.session : std::string(); }

  // Joins a session for a model of `base_version` with `vector_length`
  // coordinates (an answer for another version or length is kRefused).
  SecAggJoin join(int64_t base_version, uint64_t vector_length);
  // Makes the ClientRound for the trained round (its delta clipped) and
  // stores it. False (logged) when no ClientRound could be made (no
  // randomness); the outbox's errors (kConflict while a round is stored).
  Result<bool> start(const std::string& session, int64_t base_version, const RoundResult& trained,
                     const SecAggPrivacy& privacy = {});
  // One step of the stored round (nothing when there is none or the link
  // is not ready).
  Result<SecAggStep> step();

 private:
  struct Active {
    SecAggRound stored;  // as in the outbox (snapshot: the last one saved)
    secagg::ClientRound round;
    bool advertised = false;  // advertise_keys accepted since this process took the round
  };

  // The delta to mask: the stored one, plus this agent's share of the DP
  // noise (stored.dp_sigma / sqrt(t), t from the accepted setup) when DP is on.
  std::vector<float> with_noise(const Active& a) const;
  // Stores the ClientRound's snapshot if it changed, then posts `answer`.
  Status answer(const nlohmann::json& message, const char* what);
  // Deletes the round, counts and logs its end.
  Result<SecAggStep> finish(SecAggEnd how, const std::string& outcome, const std::string& detail);

  Outbox& outbox_;
  Link& link_;
  const Clock& clock_;
  std::string agent_id_;
  bool loaded_ = false;  // load() succeeded: round_ is what the outbox holds
  std::optional<Active> round_;
};

}  // namespace edgefed::agent
