// SecAggCoordinator: the server's driver of SecAgg+ sessions (one per sync
// round or async cohort) over the transport-free ServerRound state machine
// (edgefed/secagg/server_round.hpp). It maps an authenticated agent to its
// protocol id, refuses a message whose "agent" is not the sender's own id,
// dispatches messages by their "type", tells each agent what to do next,
// closes each phase when every expected agent has answered or its deadline
// has passed, and saves every session's snapshot through a sink before it
// acknowledges anything (ack = durable, as for plain updates).
//
// What it hands the engine: for a finished session, the num_samples-
// weighted mean of the survivors' updates (never an individual update: the
// coordinator, like ServerRound, only sees masked vectors), the survivors'
// ids and their total samples; for an aborted one, the reason (its agents
// resubmit into a later session).
//
// Agent ids: SHA-256 of the certificate's agent name, read as an integer
// modulo the Shamir field's id range: stable across restarts and replicas
// with no table to keep. Two names that map to one id (probability ~n^2 /
// 2^62) cannot both join a session: the second is refused.
//
// Thread safety: every method may be called from any thread (one mutex).
// Errors: those of ServerRound (kInvalidArgument, kPermissionDenied,
// kConflict, kNotFound), kNotFound for an unknown session, and the sink's
// error (typically kUnavailable) when a snapshot cannot be saved: the
// message is then not acknowledged and the session is as before it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgefed/clock.hpp"
#include "edgefed/secagg/random_source.hpp"
#include "edgefed/secagg/server_round.hpp"
#include "edgefed/status.hpp"

namespace edgefed::server {

struct SecAggOptions {
  double clip = 1.0;            // the quantizer's C: bound of a weighted update coordinate
  uint64_t min_agents = 3;      // a session with fewer advertised agents aborts
  uint64_t degree = 0;          // the graph's k; 0 = chosen from the cohort size
  double phase_timeout_s = 30;  // a phase closes at most this long after it opened
  // Once this fraction of a phase's expected agents have answered, the
  // phase waits for the rest only as long again as the quorum took (at
  // least 1 s), not until the deadline: one agent whose link dropped no
  // longer holds a whole round for phase_timeout_s. 1 = wait for every
  // agent (or the deadline).
  double quorum = 0.9;
};

// Where session snapshots go (the server's store; a map in tests). save()
// must be durable when it returns ok.
class SecAggSnapshotSink {
 public:
  virtual ~SecAggSnapshotSink() = default;
  virtual Status save(const std::string& session, std::span<const uint8_t> snapshot) = 0;
  virtual Status erase(const std::string& session) = 0;
};

class SecAggCoordinator {
 public:
  struct Finished {
    std::string session;
    Result<secagg::AggregateResult> result;  // error: the session aborted, with why
  };

  // `clock`, `sink` must outlive the coordinator.
  SecAggCoordinator(SecAggOptions options, const Clock& clock, SecAggSnapshotSink& sink,
                    secagg::RandomSource random);

  static secagg::AgentId agent_id_of(std::string_view agent_name);

  // Opens a session for `vector_length` coordinates; its advertise phase
  // closes early once `expected_agents` have advertised. kConflict if it
  // is open already.
  Status open(const std::string& session, uint64_t vector_length, size_t expected_agents);
  // Takes back a session saved before a restart; its current phase gets a
  // fresh deadline.
  Status restore(std::span<const uint8_t> snapshot, size_t expected_agents);
  // Lowers (or raises) how many advertisements close the advertise phase
  // early: the driver calls it when a cohort stops taking agents before it
  // filled, so that its agents need not wait for the deadline. kNotFound
  // for an unknown session.
  Status set_expected(const std::string& session, size_t expected_agents);

  // An agent's message (a JSON object whose "type" is advertise_keys,
  // share_upload, masked_input or unmask_response).
  Status post(const std::string& agent_name, const nlohmann::json& message);
  // What `agent_name` should do next in `session`:
  //   {"type":"wait","phase":...}            nothing yet: ask again
  //   round_setup / share_delivery / unmask_request (messages.hpp)
  //   {"type":"done","survivors":N}          the session finished with this agent's update in it
  //   {"type":"aborted","reason":"..."}      resubmit in a later session
  //   {"type":"excluded","phase":...}         the session went (or ended) without it
  Result<nlohmann::json> next(const std::string& agent_name, const std::string& session);

  // Closes the phases that are due; returns the sessions that finished or
  // aborted since the last call (each once). Call it on a timer and after
  // post().
  std::vector<Finished> tick();
  // The engine has merged (or given up on) a finished session: drops it
  // and its snapshot.
  Status forget(const std::string& session);

  std::vector<std::string> open_sessions() const;

 private:
  struct Session {
    secagg::ServerRound round;
    std::vector<uint8_t> saved{};  // the last snapshot the sink accepted
    size_t expected = 0;
    double opened_s = 0;  // when the current phase started
    double deadline_s = 0;
    std::optional<double> quorum_at_s{};  // when the current phase reached its quorum
    std::set<secagg::AgentId> heard{};  // senders in the current phase
    bool reported = false;
  };

  Status save(const std::string& id, Session& s);
  void advance(const std::string& id, Session& s, bool due);
  // Whether the current phase, which expects `expected` answers, may close
  // now without them all: its quorum was reached and the grace has passed.
  bool quorum_passed(Session& s, size_t expected);
  void start_phase(Session& s);

  SecAggOptions options_;
  const Clock& clock_;
  SecAggSnapshotSink& sink_;
  secagg::RandomSource random_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
};

}  // namespace edgefed::server
