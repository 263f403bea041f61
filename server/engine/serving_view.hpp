// What readers see of the serving channels (serving_channels.hpp, which
// explains them): each version's channel, the fleet's validation of it,
// which version an agent should serve, and how many agents serve what. An
// immutable snapshot the writer publishes after each commit.
//
// Thread safety: a ServingView is immutable once published; share it by
// shared_ptr<const>. Errors: none.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "edgefed/enum_names.hpp"

namespace edgefed::server {

enum class Channel { kCandidate, kCanary, kStable, kRejected };
inline constexpr EnumName<Channel> kChannelNames[] = {{Channel::kCandidate, "candidate"},
                                                      {Channel::kCanary, "canary"},
                                                      {Channel::kStable, "stable"},
                                                      {Channel::kRejected, "rejected"}};
constexpr std::span<const EnumName<Channel>> enum_names(Channel) { return kChannelNames; }

// The agents' validations of one version, summed (paired figures).
struct FleetValidation {
  std::string metric;        // "accuracy" | "loss"
  double value = 0;          // sample-weighted mean of the version's metric
  double serving_value = 0;  // same agents, same samples: the models they served
  int64_t agents = 0;
  int64_t cohort_agents = 0;
  int64_t samples = 0;
  // How much worse than what the agents served: accuracy points (as a
  // fraction) or the relative rise of the loss; < 0 when better.
  double worse_by() const;
};

struct VersionChannel {
  Channel channel = Channel::kCandidate;
  int64_t changed_unix_ms = 0;
  std::string reason;
};

// One device class's share of the canary cohort ("" = agents that named
// no class).
struct ClassCohort {
  int64_t agents = 0;
  int64_t cohort = 0;
};

struct ServingView {
  bool enabled = false;
  int64_t stable = -1;   // the version agents outside the cohort serve
  int64_t canary = -1;   // the version the cohort serves (-1: none in flight)
  int64_t canary_since_unix_ms = 0;
  std::shared_ptr<const std::unordered_set<std::string>> cohort;  // null: none yet
  int64_t cohort_size = 0;
  int64_t known_agents = 0;
  std::map<std::string, ClassCohort> classes;
  std::map<int64_t, VersionChannel> channels;     // versions that left candidate
  std::map<int64_t, FleetValidation> validations; // versions with validations
  // Agents by the version they last reported serving.
  std::map<int64_t, int64_t> serving_agents;

  bool in_cohort(const std::string& agent) const;
  Channel channel_of(int64_t version) const;
  // The version `agent` should serve and why; {-1, ""} when channels are off
  // or nothing is stable yet.
  std::pair<int64_t, std::string> target_for(const std::string& agent) const;
};

uint64_t cohort_hash(const std::string& agent);  // FNV-1a 64

// The canary cohort of a fleet, stratified by device class: in each class
// the ceil(fraction x n) agents with the lowest cohort_hash (so every class
// with an agent has one in the cohort when fraction > 0), topped up with
// the lowest hashes of the rest to max(ceil(fraction x N), min_agents) (at
// most N). Deterministic: the same fleet gives the same cohort, and an
// agent joining a class moves at most that class's members.
struct CohortCandidate {
  std::string agent;
  std::string device_class;
};
struct CohortChoice {
  std::shared_ptr<const std::unordered_set<std::string>> members;
  std::map<std::string, ClassCohort> classes;
};
CohortChoice choose_cohort(const std::vector<CohortCandidate>& fleet, double fraction, int64_t min_agents);

}  // namespace edgefed::server
