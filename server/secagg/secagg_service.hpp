// SecAggService: secure aggregation as the server runs it
// (--secure-aggregation=secagg+, docs/secure-aggregation.md). It groups
// agents into sessions, drives them through a SecAggCoordinator whose
// snapshots go to the state database (StoredSessionSink), and hands every
// finished session's unmasked weighted mean to Engine::submit_aggregate.
//
// Sessions ("cohorts"): an agent that fetched version v joins with
// base_version v before it trains. Sync mode: one session per round (the
// version), at most min_updates agents; a join beyond that is answered
// {"type":"round_full"} and waits for the next round. Async mode: sessions of buffer_k agents that
// all train on v; a full one starts the next. A session's advertise phase
// closes when all its agents advertised or at the phase deadline, so a
// cohort that never fills still completes with those that came.
//
// Durability: a session exists once its row (base version, cohort size)
// and first snapshot are committed; every acknowledged message is in a
// snapshot first (SecAggCoordinator). open() restores every stored
// session; a finished one is handed to the engine again (a duplicate
// there if it had merged: the ledger knows the session id) and then
// erased, so a session is merged exactly once whatever the crash point.
//
// Thread safety: every method may be called from any thread. The ticker
// thread (open(..., start_thread = true)) calls tick() every 100 ms.
// Errors: kConflict for a join on a version that is not the newest, those
// of SecAggCoordinator for messages, the store's (kUnavailable) when a
// snapshot cannot be saved.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "edgefed/clock.hpp"
#include "edgefed/status.hpp"
#include "server/engine/engine.hpp"
#include "server/engine/engine_options.hpp"
#include "server/secagg/secagg_coordinator.hpp"
#include "server/secagg/stored_session_sink.hpp"

namespace edgefed::server {

class SecAggService {
 public:
  struct Counters {
    int64_t opened = 0;    // sessions opened by this process
    int64_t restored = 0;  // sessions taken back from the store at open()
    int64_t merged = 0;    // finished sessions the engine merged
    int64_t aborted = 0;   // sessions that ended without a sum
  };

  // `engine` must outlive the service and run with options.secure_aggregation
  // on. `clock` drives the phase deadlines (a FakeClock in tests).
  static Result<std::unique_ptr<SecAggService>> open(const EngineOptions& options, Engine& engine,
                                                     std::shared_ptr<Clock> clock, bool start_thread = true);
  ~SecAggService();  // stop()
  SecAggService(const SecAggService&) = delete;
  SecAggService& operator=(const SecAggService&) = delete;

  // POST /v1/secagg/join: the session `agent` takes part in for a model of
  // `base_version` (the same one again if it joined already):
  //   {"type":"joined", "session", "base_version", "cohort_size",
  //    "vector_length", "clip", "phase_timeout_s"}
  // or, in sync mode once the round has all its agents,
  //   {"type":"round_full", "base_version", "reason"}
  Result<nlohmann::json> join(const std::string& agent, int64_t base_version);
  // POST /v1/secagg/message: one protocol message (messages.hpp).
  Status post(const std::string& agent, const nlohmann::json& message);
  // GET /v1/secagg/next: what the agent does next (SecAggCoordinator::next);
  // after the session ended, for a while (kNotFound once forgotten):
  // {"type":"done","survivors":N,"version":V} to a survivor (its update is
  // in version V), {"type":"excluded","phase":"done"} to any other agent,
  // {"type":"aborted","reason":...} to all when it aborted.
  Result<nlohmann::json> next(const std::string& agent, const std::string& session);

  // Closes due phases and merges finished sessions (the ticker's work;
  // tests with a FakeClock call it directly).
  void tick();
  // Stops the ticker; sessions stay stored for the next open().
  void stop();

  Counters counters() const;
  std::vector<std::string> open_sessions() const { return coordinator_->open_sessions(); }

 private:
  struct Cohort {
    int64_t base_version = 0;
    size_t size = 0;              // the most agents it takes
    std::set<std::string> agents;  // joined (this process; restored cohorts are closed)
    bool closed = false;          // takes no more joins
  };

  SecAggService(const EngineOptions& options, Engine& engine, std::shared_ptr<Clock> clock,
                std::unique_ptr<StoredSessionSink> sink);
  Status restore();
  Result<std::string> open_cohort(int64_t base_version);  // REQUIRES: mu_ held
  // The filling cohort takes no more agents: its advertise phase then
  // closes once the agents it has advertised. REQUIRES: mu_ held.
  void close_filling();
  void finish(const SecAggCoordinator::Finished& f);
  // REQUIRES: mu_ held.
  void remember_end(const std::string& session, nlohmann::json answer, std::set<secagg::AgentId> survivors);

  const EngineOptions options_;
  Engine& engine_;
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<StoredSessionSink> sink_;
  std::unique_ptr<SecAggCoordinator> coordinator_;

  mutable std::mutex mu_;
  std::map<std::string, Cohort> cohorts_;          // open sessions
  std::optional<std::string> filling_;             // the session taking joins
  struct Ended {
    nlohmann::json answer;                   // the final answer for a survivor (or anyone, aborted)
    std::set<secagg::AgentId> survivors;     // whose update is in the merged sum
  };
  std::map<std::string, Ended> ended_;             // recent final answers
  std::deque<std::string> ended_order_;
  std::deque<SecAggCoordinator::Finished> unmerged_;  // the engine was busy: retried
  Counters counters_;

  std::mutex tick_mu_;  // one tick at a time
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace edgefed::server
