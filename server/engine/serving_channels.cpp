#include "server/engine/serving_channels.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "edgefed/log.hpp"

namespace edgefed::server {
namespace {

constexpr const char* kStableKey = "stable_version";
constexpr const char* kCanaryKey = "canary_version";
constexpr const char* kCanarySinceKey = "canary_since_unix_ms";

const double* value_of(const TelemetryRecord& r, const char* key) {
  auto it = r.values.find(key);
  return it == r.values.end() || !std::isfinite(it->second) ? nullptr : &it->second;
}

FleetValidation from_sums(const ValidationSums& s) {
  FleetValidation f;
  f.metric = s.metric;
  f.agents = s.agents;
  f.cohort_agents = s.cohort_agents;
  f.samples = s.samples;
  if (s.samples > 0) {
    f.value = s.value_x_samples / static_cast<double>(s.samples);
    f.serving_value = s.serving_x_samples / static_cast<double>(s.samples);
  }
  return f;
}

}  // namespace

ServingChannels::ServingChannels(ChannelOptions options) : options_(options) {
  state_.enabled = options_.canary_fraction > 0;
}

Status ServingChannels::load(ChannelStore& table) {
  ServingView fresh;
  fresh.enabled = state_.enabled;
  fresh.cohort = state_.cohort;  // derived from the agents, not stored
  fresh.cohort_size = state_.cohort_size;
  fresh.known_agents = state_.known_agents;
  fresh.classes = state_.classes;
  auto stable = table.pointer(kStableKey);
  if (!stable.is_ok()) return stable.status();
  auto canary = table.pointer(kCanaryKey);
  if (!canary.is_ok()) return canary.status();
  auto since = table.pointer(kCanarySinceKey);
  if (!since.is_ok()) return since.status();
  fresh.stable = stable->value_or(-1);
  fresh.canary = canary->value_or(-1);
  fresh.canary_since_unix_ms = since->value_or(0);
  auto rows = table.channels();
  if (!rows.is_ok()) return rows.status();
  promoted_ = rejected_ = 0;
  for (const auto& [version, row] : *rows) {
    VersionChannel vc;
    vc.channel = parse_enum<Channel>(row.channel).value_or(Channel::kCandidate);
    vc.changed_unix_ms = row.changed_unix_ms;
    vc.reason = row.reason;
    if (vc.channel == Channel::kRejected) ++rejected_;
    if (vc.channel == Channel::kStable) ++promoted_;
    fresh.channels[version] = std::move(vc);
  }
  auto sums = table.sums();
  if (!sums.is_ok()) return sums.status();
  for (const auto& [version, s] : *sums) fresh.validations[version] = from_sums(s);
  fresh.serving_agents = std::move(state_.serving_agents);
  state_ = std::move(fresh);
  events_.clear();
  changed();
  return Status::ok();
}

Status ServingChannels::set(ChannelStore& table, int64_t version, Channel to, int64_t now, const std::string& reason) {
  const Channel from = state_.channel_of(version);
  if (to == Channel::kCandidate) {
    // Back to candidate: the row records why (a canary that timed out).
    EDGEFED_RETURN_IF_ERROR(table.set_channel(version, "candidate", now, reason));
  } else {
    EDGEFED_RETURN_IF_ERROR(table.set_channel(version, std::string(enum_name(to)), now, reason));
  }
  state_.channels[version] = {to, now, reason};
  changed();
  if (to == Channel::kStable) ++promoted_;
  if (to == Channel::kRejected) ++rejected_;
  events_.push_back({version, from, to, reason});
  return Status::ok();
}

Status ServingChannels::start_canary(ChannelStore& table, int64_t version, int64_t now) {
  EDGEFED_RETURN_IF_ERROR(table.set_pointer(kCanaryKey, version));
  EDGEFED_RETURN_IF_ERROR(table.set_pointer(kCanarySinceKey, now));
  state_.canary = version;
  state_.canary_since_unix_ms = now;
  return set(table, version, Channel::kCanary, now,
             "canary for " + std::to_string(state_.cohort_size) + " of " + std::to_string(state_.known_agents) +
                 " agents");
}

Status ServingChannels::observe(ChannelStore& table, const std::string& agent, const TelemetryRecord& r,
                                int64_t now) {
  if (r.kind == "system") {
    if (const double* v = value_of(r, "serving_version"); v && *v >= 0) serve(agent, static_cast<int64_t>(*v));
    return Status::ok();
  }
  if (r.kind != "validation") return Status::ok();
  const double* version = value_of(r, "version");
  const double* value = value_of(r, "value");
  const double* samples = value_of(r, "samples");
  if (const double* serving = value_of(r, "serving_version"); serving && *serving >= 0)
    serve(agent, static_cast<int64_t>(*serving));
  if (!version || !value || !samples || *version < 0 || *samples <= 0) return Status::ok();  // nothing to weigh
  ValidationRow row;
  row.version = static_cast<int64_t>(*version);
  row.agent = agent;
  auto metric = r.labels.find("metric");
  row.metric = metric != r.labels.end() && metric->second == "loss" ? "loss" : "accuracy";
  row.value = *value;
  // The served model's figure on the same samples; an agent that served
  // nothing yet compares the version with itself.
  const double* serving_value = value_of(r, "serving_value");
  row.serving_value = serving_value ? *serving_value : *value;
  row.samples = static_cast<int64_t>(*samples);
  row.cohort = state_.in_cohort(agent);
  row.ts_unix_ms = r.ts_ms;
  auto added = table.add_validation(row);
  if (!added.is_ok()) return added.status();
  if (!*added) return Status::ok();
  FleetValidation& f = state_.validations[row.version];
  if (f.agents > 0 && f.metric != row.metric) return Status::ok();  // another task's figure: not mixed in
  const double total = static_cast<double>(f.samples + row.samples);
  f.value = (f.value * static_cast<double>(f.samples) + row.value * static_cast<double>(row.samples)) / total;
  f.serving_value =
      (f.serving_value * static_cast<double>(f.samples) + row.serving_value * static_cast<double>(row.samples)) / total;
  f.metric = row.metric;
  f.samples += row.samples;
  f.agents += 1;
  f.cohort_agents += row.cohort ? 1 : 0;
  changed();
  if (row.version == state_.canary) return decide(table, now);
  return Status::ok();
}

Status ServingChannels::decide(ChannelStore& table, int64_t now) {
  const int64_t c = state_.canary;
  auto it = state_.validations.find(c);
  if (c < 0 || it == state_.validations.end() || it->second.cohort_agents < options_.canary_min_agents)
    return Status::ok();
  const FleetValidation& f = it->second;
  const double worse = f.worse_by();
  char why[240];
  if (f.metric == "accuracy") {
    std::snprintf(why, sizeof why, "fleet accuracy %.4f vs %.4f served (%+.2f points, %lld agents, %lld in the cohort)",
                  f.value, f.serving_value, -100.0 * worse, static_cast<long long>(f.agents),
                  static_cast<long long>(f.cohort_agents));
  } else {
    std::snprintf(why, sizeof why, "fleet loss %.6g vs %.6g served (%+.1f %%, %lld agents, %lld in the cohort)", f.value,
                  f.serving_value, 100.0 * worse, static_cast<long long>(f.agents),
                  static_cast<long long>(f.cohort_agents));
  }
  const bool reject = worse > options_.threshold || !std::isfinite(f.value);
  // A good canary serves its cohort for the soak time first.
  if (!reject && now - state_.canary_since_unix_ms < options_.canary_soak_ms) return Status::ok();
  EDGEFED_RETURN_IF_ERROR(table.set_pointer(kCanaryKey, std::nullopt));
  EDGEFED_RETURN_IF_ERROR(table.set_pointer(kCanarySinceKey, std::nullopt));
  state_.canary = -1;
  if (reject) return set(table, c, Channel::kRejected, now, why);
  if (c > state_.stable) {
    EDGEFED_RETURN_IF_ERROR(table.set_pointer(kStableKey, c));
    state_.stable = c;
  }
  return set(table, c, Channel::kStable, now, why);
}

bool ServingChannels::due(int64_t newest, uint64_t roster_generation, int64_t now) const {
  if (!state_.enabled) return false;
  if (!cohort_for_roster_ || roster_generation != *cohort_for_roster_) return true;
  if (state_.stable < 0) return true;
  if (state_.canary < 0) return newest > state_.stable && state_.channel_of(newest) == Channel::kCandidate;
  const int64_t age = now - state_.canary_since_unix_ms;
  if (age >= options_.canary_soak_ms) {
    auto it = state_.validations.find(state_.canary);
    if (it != state_.validations.end() && it->second.cohort_agents >= options_.canary_min_agents) return true;
  }
  return newest > state_.canary && age >= options_.canary_timeout_ms;
}

Status ServingChannels::tick(ChannelStore& table, int64_t newest, const std::vector<CohortCandidate>& fleet,
                             uint64_t roster_generation, int64_t now) {
  if (!state_.enabled) return Status::ok();
  if (!cohort_for_roster_ || roster_generation != *cohort_for_roster_) {
    CohortChoice choice = choose_cohort(fleet, options_.canary_fraction, options_.canary_min_agents);
    state_.cohort_size = static_cast<int64_t>(choice.members->size());
    state_.cohort = std::move(choice.members);
    state_.classes = std::move(choice.classes);
    state_.known_agents = static_cast<int64_t>(fleet.size());
    cohort_for_roster_ = roster_generation;
    changed();
  }
  if (state_.canary >= 0) EDGEFED_RETURN_IF_ERROR(decide(table, now));  // its soak may be over
  if (state_.stable < 0) {
    // Nothing to compare the first version with: it is what the fleet serves.
    EDGEFED_RETURN_IF_ERROR(table.set_pointer(kStableKey, newest));
    state_.stable = newest;
    return set(table, newest, Channel::kStable, now, "the first version");
  }
  if (state_.canary >= 0 && newest > state_.canary &&
      now - state_.canary_since_unix_ms >= options_.canary_timeout_ms) {
    const int64_t old = state_.canary;
    const auto it = state_.validations.find(old);
    const int64_t heard = it == state_.validations.end() ? 0 : it->second.cohort_agents;
    state_.canary = -1;
    EDGEFED_RETURN_IF_ERROR(set(table, old, Channel::kCandidate, now,
                                "canary timed out: " + std::to_string(heard) + " of " +
                                    std::to_string(options_.canary_min_agents) + " cohort validations"));
    EDGEFED_RETURN_IF_ERROR(table.set_pointer(kCanaryKey, std::nullopt));
  }
  if (state_.canary < 0 && newest > state_.stable && state_.channel_of(newest) == Channel::kCandidate) {
    EDGEFED_RETURN_IF_ERROR(start_canary(table, newest, now));
    // Validations that arrived before the version became the canary count.
    return decide(table, now);
  }
  return Status::ok();
}

Status ServingChannels::promote(ChannelStore& table, int64_t version, int64_t now, const std::string& reason) {
  if (state_.canary >= 0 && state_.canary != version) {
    EDGEFED_RETURN_IF_ERROR(set(table, state_.canary, Channel::kCandidate, now, "canary ended by " + reason));
  }
  state_.canary = -1;
  EDGEFED_RETURN_IF_ERROR(table.set_pointer(kCanaryKey, std::nullopt));
  EDGEFED_RETURN_IF_ERROR(table.set_pointer(kStableKey, version));
  state_.stable = version;
  return set(table, version, Channel::kStable, now, reason);
}

void ServingChannels::serve(const std::string& agent, int64_t version) {
  auto [it, added] = serving_of_.try_emplace(agent, version);
  if (!added) {
    if (it->second == version) return;
    if (--state_.serving_agents[it->second] <= 0) state_.serving_agents.erase(it->second);
    it->second = version;
  }
  state_.serving_agents[version] += 1;
  changed();
}

std::shared_ptr<const ServingView> ServingChannels::view() const {
  if (cached_view_) return cached_view_;
  auto v = std::make_shared<ServingView>();
  v->enabled = state_.enabled;
  v->stable = state_.stable;
  v->canary = state_.canary;
  v->canary_since_unix_ms = state_.canary_since_unix_ms;
  v->cohort = state_.cohort;
  v->cohort_size = state_.cohort_size;
  v->known_agents = state_.known_agents;
  v->classes = state_.classes;
  v->serving_agents = state_.serving_agents;
  const int64_t newest = std::max({state_.channels.empty() ? -1 : state_.channels.rbegin()->first,
                                   state_.validations.empty() ? -1 : state_.validations.rbegin()->first});
  auto keep = [&](int64_t version) {
    return version > newest - kViewVersions || version == state_.stable || version == state_.canary;
  };
  for (const auto& [version, c] : state_.channels)
    if (keep(version)) v->channels.emplace(version, c);
  for (const auto& [version, f] : state_.validations)
    if (keep(version)) v->validations.emplace(version, f);
  cached_view_ = std::move(v);
  return cached_view_;
}

}  // namespace edgefed::server
