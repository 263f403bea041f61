#include "server/secagg/secagg_coordinator.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "edgefed/secagg/agent_id.hpp"
#include "edgefed/secagg/messages.hpp"

namespace edgefed::server {

namespace sa = edgefed::secagg;
using nlohmann::json;

namespace {

// The phase in which a message of `type` is news (a retry of an earlier
// phase's message is accepted by ServerRound but must not count as an
// answer to the current one).
std::optional<sa::ServerPhase> phase_of(std::string_view type) {
  if (type == "advertise_keys") return sa::ServerPhase::kAdvertise;
  if (type == "share_upload") return sa::ServerPhase::kShares;
  if (type == "masked_input") return sa::ServerPhase::kMasked;
  if (type == "unmask_response") return sa::ServerPhase::kUnmask;
  return std::nullopt;
}

// Parses the typed message, checks that it speaks for `id`, feeds it.
template <typename Message, typename Feed>
Status feed_as(const json& j, sa::AgentId id, const std::string& agent_name, Feed feed) {
  auto m = Message::from_json(j);
  if (!m) return m.status();
  if (m->agent != id) {
    return Status(Code::kPermissionDenied, "agent '" + agent_name + "' (secure aggregation id " + std::to_string(id) +
                                               ") cannot send a message for id " + std::to_string(m->agent));
  }
  return feed(*m);
}

}  // namespace

SecAggCoordinator::SecAggCoordinator(SecAggOptions options, const Clock& clock, SecAggSnapshotSink& sink,
                                     sa::RandomSource random)
    : options_(options), clock_(clock), sink_(sink), random_(std::move(random)) {}

sa::AgentId SecAggCoordinator::agent_id_of(std::string_view agent_name) {
  // The agent derives the same id from its own name (edgefed/secagg/agent_id.hpp).
  return sa::agent_id_of(agent_name);
}

void SecAggCoordinator::start_phase(Session& s) {
  s.heard.clear();
  s.opened_s = clock_.monotonic_s();
  s.deadline_s = s.opened_s + options_.phase_timeout_s;
  s.quorum_at_s.reset();
}

bool SecAggCoordinator::quorum_passed(Session& s, size_t expected) {
  const size_t need =
      std::max<size_t>(1, static_cast<size_t>(std::ceil(options_.quorum * static_cast<double>(expected) - 1e-9)));
  if (s.heard.size() < need) return false;
  const double now = clock_.monotonic_s();
  if (!s.quorum_at_s) s.quorum_at_s = now;
  // The stragglers get as long again as the quorum took: a phase whose
  // agents train (advertise) waits longer than one of quick answers.
  return now >= *s.quorum_at_s + std::max(1.0, *s.quorum_at_s - s.opened_s);
}

Status SecAggCoordinator::save(const std::string& id, Session& s) {
  std::vector<uint8_t> bytes = s.round.snapshot();
  if (Status st = sink_.save(id, bytes); !st.is_ok()) {
    // Not durable, so not done: back to the state last saved.
    if (auto back = sa::ServerRound::restore(s.saved)) s.round = std::move(*back);
    return st;
  }
  s.saved = std::move(bytes);
  return Status::ok();
}

Status SecAggCoordinator::open(const std::string& session, uint64_t vector_length, size_t expected_agents) {
  std::lock_guard lock(mu_);
  if (sessions_.count(session)) return Status(Code::kConflict, "secure aggregation session '" + session + "' is open");
  auto round = sa::ServerRound::create(sa::ServerRoundConfig{session, vector_length, options_.clip,
                                                             options_.min_agents, options_.degree});
  if (!round) return round.status();
  auto s = std::make_unique<Session>(Session{.round = std::move(*round), .expected = expected_agents});
  EDGEFED_RETURN_IF_ERROR(save(session, *s));
  start_phase(*s);
  sessions_.emplace(session, std::move(s));
  return Status::ok();
}

Status SecAggCoordinator::restore(std::span<const uint8_t> snapshot, size_t expected_agents) {
  auto round = sa::ServerRound::restore(snapshot);
  if (!round) return round.status();
  std::lock_guard lock(mu_);
  const std::string id = round->config().session;
  if (sessions_.count(id)) return Status(Code::kConflict, "secure aggregation session '" + id + "' is open");
  auto s = std::make_unique<Session>(
      Session{.round = std::move(*round), .saved = {snapshot.begin(), snapshot.end()}, .expected = expected_agents});
  start_phase(*s);
  sessions_.emplace(id, std::move(s));
  return Status::ok();
}

Status SecAggCoordinator::set_expected(const std::string& session, size_t expected_agents) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return Status(Code::kNotFound, "no open secure aggregation session '" + session + "'");
  it->second->expected = expected_agents;
  advance(session, *it->second, false);
  return Status::ok();
}

Status SecAggCoordinator::post(const std::string& agent_name, const json& message) {
  if (!message.is_object() || !message.contains("type") || !message["type"].is_string() ||
      !message.contains("session") || !message["session"].is_string()) {
    return Status(Code::kInvalidArgument, "a secure aggregation message is a JSON object with \"type\" and \"session\"");
  }
  const std::string type = message["type"].get<std::string>();
  const auto phase = phase_of(type);
  if (!phase) return Status(Code::kInvalidArgument, "unknown secure aggregation message type '" + type + "'");
  const std::string id = message["session"].get<std::string>();
  const sa::AgentId agent = agent_id_of(agent_name);

  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return Status(Code::kNotFound, "no open secure aggregation session '" + id + "'");
  Session& s = *it->second;
  sa::ServerRound& r = s.round;
  const sa::ServerPhase before = r.phase();
  Status st;
  switch (*phase) {
    case sa::ServerPhase::kAdvertise:
      st = feed_as<sa::AdvertiseKeys>(message, agent, agent_name, [&](const auto& m) { return r.on_advertise(m); });
      break;
    case sa::ServerPhase::kShares:
      st = feed_as<sa::ShareUpload>(message, agent, agent_name, [&](const auto& m) { return r.on_share_upload(m); });
      break;
    case sa::ServerPhase::kMasked:
      st = feed_as<sa::MaskedInput>(message, agent, agent_name, [&](const auto& m) { return r.on_masked_input(m); });
      break;
    default:
      st = feed_as<sa::UnmaskResponse>(message, agent, agent_name,
                                       [&](const auto& m) { return r.on_unmask_response(m); });
      break;
  }
  // A refused message leaves the round as it was, unless it aborted it.
  if (!st.is_ok() && r.phase() != sa::ServerPhase::kAborted) return st;
  if (Status saved = save(id, s); !saved.is_ok()) return saved;
  if (!st.is_ok()) return st;
  if (*phase == before) s.heard.insert(agent);
  advance(id, s, false);
  return Status::ok();
}

void SecAggCoordinator::advance(const std::string& id, Session& s, bool due) {
  sa::ServerRound& r = s.round;
  for (;;) {
    Status st;
    switch (r.phase()) {
      case sa::ServerPhase::kAdvertise: {
        if (!due && s.heard.size() < s.expected && !quorum_passed(s, s.expected)) return;
        auto seed = sa::random_key(random_);
        if (!seed) return;  // no randomness now: try again at the next tick
        st = r.close_advertise(*seed);
        break;
      }
      case sa::ServerPhase::kShares:
        if (!due && s.heard.size() < r.advertised().size() && !quorum_passed(s, r.advertised().size())) return;
        st = r.close_shares();
        break;
      case sa::ServerPhase::kMasked:
        if (!due && s.heard.size() < r.share_senders().size() && !quorum_passed(s, r.share_senders().size())) return;
        st = r.close_masked();
        break;
      case sa::ServerPhase::kUnmask:
        if (!due && s.heard.size() < r.masked_senders().size() && !quorum_passed(s, r.masked_senders().size()))
          return;
        if (r.ready_to_finish()) {
          st = r.finish().status();
        } else if (due) {
          r.abort("too few unmask responses at the deadline to rebuild every secret");
        } else {
          return;  // everyone answered but not enough to rebuild: wait for the deadline
        }
        break;
      case sa::ServerPhase::kDone:
      case sa::ServerPhase::kAborted:
        return;
    }
    (void)st;  // an abort is recorded in the round itself
    if (!save(id, s).is_ok()) return;  // the sink failed: retried at the next tick
    start_phase(s);
    due = false;
  }
}

std::vector<SecAggCoordinator::Finished> SecAggCoordinator::tick() {
  std::vector<Finished> out;
  std::lock_guard lock(mu_);
  const double now = clock_.monotonic_s();
  for (auto& [id, s] : sessions_) {
    advance(id, *s, now >= s->deadline_s);
    if (s->reported) continue;
    if (s->round.phase() == sa::ServerPhase::kDone) {
      out.push_back(Finished{id, s->round.result()});
      s->reported = true;
    } else if (s->round.phase() == sa::ServerPhase::kAborted) {
      out.push_back(Finished{id, s->round.abort_status()});
      s->reported = true;
    }
  }
  return out;
}

Result<json> SecAggCoordinator::next(const std::string& agent_name, const std::string& session) {
  const sa::AgentId agent = agent_id_of(agent_name);
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return Status(Code::kNotFound, "no open secure aggregation session '" + session + "'");
  const Session& s = *it->second;
  const sa::ServerRound& r = s.round;
  const sa::ServerPhase phase = r.phase();
  const auto wait = [&] { return json{{"type", "wait"}, {"phase", std::string(sa::phase_name(phase))}}; };
  const auto addressed = [&](auto produced) -> Result<json> {
    if (produced) return produced->to_json();
    if (produced.status().code() == Code::kNotFound) {
      return json{{"type", "excluded"}, {"phase", std::string(sa::phase_name(phase))}};
    }
    return produced.status();
  };
  switch (phase) {
    case sa::ServerPhase::kAdvertise:
      return wait();
    case sa::ServerPhase::kShares:
      if (s.heard.count(agent)) return wait();
      return addressed(r.setup_for(agent));
    case sa::ServerPhase::kMasked:
      if (s.heard.count(agent)) return wait();
      return addressed(r.delivery_for(agent));
    case sa::ServerPhase::kUnmask:
      if (s.heard.count(agent)) return wait();
      return addressed(r.unmask_request_for(agent));
    case sa::ServerPhase::kDone: {
      // Only a survivor's update is in the sum; anyone else (a dropout,
      // a pruned agent) must not count its update as merged.
      const auto& u3 = r.masked_senders();
      if (!std::binary_search(u3.begin(), u3.end(), agent))
        return json{{"type", "excluded"}, {"phase", std::string(sa::phase_name(phase))}};
      return json{{"type", "done"}, {"survivors", u3.size()}};
    }
    case sa::ServerPhase::kAborted:
      return json{{"type", "aborted"}, {"reason", r.abort_status().message()}};
  }
  return wait();
}

Status SecAggCoordinator::forget(const std::string& session) {
  std::lock_guard lock(mu_);
  EDGEFED_RETURN_IF_ERROR(sink_.erase(session));
  sessions_.erase(session);
  return Status::ok();
}

std::vector<std::string> SecAggCoordinator::open_sessions() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, s] : sessions_) out.push_back(id);
  return out;
}

}  // namespace edgefed::server
