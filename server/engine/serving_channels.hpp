// Serving channels: which version the fleet's devices serve to their
// applications, apart from the version they train on.
//   candidate  every merged version, until it is tried
//   canary     the one candidate a cohort of agents serves while the fleet
//              validates it (the newest candidate when none is in flight)
//   stable     a version that passed its canary (or an admin promote or
//              rollback): every agent outside the cohort serves the newest
//              stable one
//   rejected   a canary whose fleet validation was worse than what the
//              agents served by more than the threshold
// The cohort: choose_cohort (serving_view.hpp) over the known agents and
// the device class each names in its system telemetry: per class the
// agents with the lowest FNV-1a hash of the id, so it is deterministic,
// moves little as agents come and go, and every class is in it.
//
// The decision rests on `validation` telemetry: every agent validates every
// version it downloads on its holdout and reports the version's metric and,
// on the same samples, the metric of the model it serves (paired). Once
// canary_min_agents cohort agents have reported the canary, the sample-
// weighted fleet figures decide: accuracy more than `threshold` below the
// served models' (a loss more than `threshold` x above) rejects it at once;
// else it is promoted once the cohort has served it for canary_soak_ms. A canary that has not heard from enough of its cohort
// after canary_timeout_ms steps back (stays a candidate) for the newest one.
// Training never depends on any of this.
//
// ServingChannels is the writer thread's (inside its transactions, like the
// VersionKeeper that owns it: after a failed transaction load() reloads
// it); ServingView is the immutable snapshot readers get.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "server/engine/engine_options.hpp"
#include "server/engine/serving_view.hpp"
#include "server/store/channel_table.hpp"

namespace edgefed::server {

// A channel change, for the audit log and metrics (after the commit).
struct ChannelEvent {
  int64_t version = 0;
  Channel from = Channel::kCandidate;
  Channel to = Channel::kCandidate;
  std::string reason;
};

class ServingChannels {
 public:
  explicit ServingChannels(ChannelOptions options = {});

  // Reloads everything from the store (at open and after a rollback).
  Status load(ChannelStore& table);

  // A telemetry record just stored: `validation` records are recorded and
  // may decide the canary; `system` and `validation` records tell which
  // version the agent serves. Other kinds are ignored.
  Status observe(ChannelStore& table, const std::string& agent, const TelemetryRecord& record, int64_t now_unix_ms);

  // Whether tick() has something to do.
  // roster_generation: AgentRegistry::roster_generation(), which moves when
  // an agent joins or changes class.
  bool due(int64_t newest_version, uint64_t roster_generation, int64_t now_unix_ms) const;
  // Recomputes the cohort when the roster moved, makes the first version
  // stable, starts a canary for the newest candidate, times one out.
  Status tick(ChannelStore& table, int64_t newest_version, const std::vector<CohortCandidate>& fleet,
              uint64_t roster_generation, int64_t now_unix_ms);

  // An admin's promote (or a rollback's new version): `version` becomes the
  // stable one now; a canary in flight steps back unless it is `version`.
  Status promote(ChannelStore& table, int64_t version, int64_t now_unix_ms, const std::string& reason);

  // The state as readers see it; the same pointer until the state changes.
  // Holds the newest kViewVersions versions' channels and validations (and
  // the stable and canary ones).
  std::shared_ptr<const ServingView> view() const;
  static constexpr int64_t kViewVersions = 256;
  std::vector<ChannelEvent> take_events() { return std::exchange(events_, {}); }
  int64_t promoted() const { return promoted_; }
  int64_t rejected() const { return rejected_; }

 private:
  Status set(ChannelStore& table, int64_t version, Channel to, int64_t now, const std::string& reason);
  Status start_canary(ChannelStore& table, int64_t version, int64_t now);
  Status decide(ChannelStore& table, int64_t now);

  ChannelOptions options_;
  ServingView state_;
  void serve(const std::string& agent, int64_t version);
  void changed() { cached_view_.reset(); }

  std::unordered_map<std::string, int64_t> serving_of_;  // agent -> version it serves
  mutable std::shared_ptr<const ServingView> cached_view_;
  std::vector<ChannelEvent> events_;
  int64_t promoted_ = 0, rejected_ = 0;
  std::optional<uint64_t> cohort_for_roster_;  // the roster the cohort was drawn from
};

}  // namespace edgefed::server
