#include "agent/loop/secagg_driver.hpp"

#include <array>
#include <cmath>
#include <random>
#include <utility>

#include "edgefed/log.hpp"
#include "edgefed/secagg/agent_id.hpp"
#include "edgefed/secagg/messages.hpp"
#include "edgefed/secagg/random_source.hpp"

namespace edgefed::agent {
namespace sa = edgefed::secagg;
using nlohmann::json;

namespace {

// j[key] as a string, "" when absent or not a string (answers are untrusted).
std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

SecAggDriver::SecAggDriver(Outbox& outbox, Link& link, const Clock& clock, std::string agent_id)
    : outbox_(outbox), link_(link), clock_(clock), agent_id_(std::move(agent_id)) {}

Status SecAggDriver::load() {
  auto stored = outbox_.secagg_round();
  if (!stored) return stored.status();
  round_.reset();
  loaded_ = true;
  if (!*stored) return Status::ok();
  SecAggRound& s = **stored;
  auto round = sa::ClientRound::restore(s.snapshot);
  if (!round) {
    // Nothing can be answered from it: end it (the server drops this agent).
    log::error("secagg_round_unreadable")
        .kv("agent", agent_id_)
        .kv("session", s.session)
        .kv("error", round.status().to_string());
    EDGEFED_RETURN_IF_ERROR(outbox_.end_secagg_round(s.session, SecAggEnd::kAborted,
                                                     "snapshot unreadable: " + round.status().to_string(),
                                                     clock_.unix_ms()));
    log::warn("secagg_round_ended")
        .kv("agent", agent_id_)
        .kv("session", s.session)
        .kv("base_version", s.base_version)
        .kv("outcome", "refused")
        .kv("reason", "snapshot unreadable");
    return Status::ok();
  }
  log::info("secagg_round_resumed")
      .kv("agent", agent_id_)
      .kv("session", s.session)
      .kv("base_version", s.base_version)
      .kv("phase", sa::phase_name(round->phase()));
  round_.emplace(Active{std::move(s), std::move(*round), false});
  return Status::ok();
}

SecAggJoin SecAggDriver::join(int64_t base_version, uint64_t vector_length) {
  SecAggJoin out;
  SecAggResult r = link_.secagg_join(base_version);
  out.status = r.status;
  if (r.outcome == Outcome::kRetry) {
    out.kind = SecAggJoin::Kind::kRetry;
    return out;
  }
  if (r.outcome == Outcome::kRejected) {
    out.kind = r.http_status == 409 ? SecAggJoin::Kind::kModelMoved : SecAggJoin::Kind::kRefused;
    return out;
  }
  const json& j = r.body;
  if (text_of(j, "type") == "round_full") {
    // The sync round has all its agents: wait for the next version.
    out.kind = SecAggJoin::Kind::kRoundFull;
    out.status = Status(Code::kUnavailable, text_of(j, "reason"));
    return out;
  }
  const std::string session = text_of(j, "session");
  const auto base = j.find("base_version");
  const auto length = j.find("vector_length");
  out.kind = SecAggJoin::Kind::kRefused;
  if (!sa::valid_session_id(session)) {
    out.status = Status(Code::kInvalidArgument, "join answer: bad or missing session id");
  } else if (base == j.end() || !base->is_number_integer() || base->get<int64_t>() != base_version) {
    out.status = Status(Code::kInvalidArgument, "join answer: the session is not for version " +
                                                    std::to_string(base_version));
  } else if (length == j.end() || !length->is_number_unsigned() || length->get<uint64_t>() != vector_length) {
    out.status = Status(Code::kDimensionMismatch, "join answer: the session's vector_length is not the model's " +
                                                      std::to_string(vector_length) + " values");
  } else {
    out.kind = SecAggJoin::Kind::kJoined;
    out.session = session;
    out.status = Status::ok();
  }
  return out;
}

Result<bool> SecAggDriver::start(const std::string& session, int64_t base_version, const RoundResult& trained,
                                 const SecAggPrivacy& privacy) {
  // DP-FedAvg weighs every agent alike: the noise is calibrated to one
  // clipped update, not to a sample count.
  const bool dp = privacy.noise_multiplier > 0 && privacy.clip_norm > 0;
  const int64_t samples = dp ? 1 : std::max<int64_t>(trained.num_samples, 1);
  auto round = sa::ClientRound::create(session, sa::agent_id_of(agent_id_), static_cast<uint64_t>(samples),
                                       sa::system_random());
  if (!round) {
    log::error("secagg_round_not_started")
        .kv("agent", agent_id_)
        .kv("session", session)
        .kv("error", round.status().to_string());
    return false;
  }
  SecAggRound s;
  s.session = session;
  s.base_version = base_version;
  s.num_samples = samples;
  s.train_loss = std::isfinite(trained.train_loss) ? trained.train_loss : 0.0;
  s.snapshot = round->snapshot();
  s.delta = trained.delta;
  if (privacy.clip_norm > 0) {
    // The server sees only the sum: clipping each update is the agent's job.
    double norm2 = 0;
    for (float x : s.delta) norm2 += static_cast<double>(x) * x;
    const double norm = std::sqrt(norm2);
    if (norm > privacy.clip_norm) {
      const double scale = privacy.clip_norm / norm;
      for (float& x : s.delta) x = static_cast<float>(x * scale);
    }
  }
  if (dp) s.dp_sigma = privacy.noise_multiplier * privacy.clip_norm;
  s.created_unix_ms = clock_.unix_ms();
  // Durable before anything is sent: after a crash the same keys answer.
  EDGEFED_RETURN_IF_ERROR(outbox_.store_secagg_round(s));
  round_.emplace(Active{std::move(s), std::move(*round), false});
  loaded_ = true;
  log::info("secagg_round_started")
      .kv("agent", agent_id_)
      .kv("session", session)
      .kv("base_version", base_version)
      .kv("samples", trained.num_samples);
  return true;
}

std::vector<float> SecAggDriver::with_noise(const Active& a) const {
  std::vector<float> x = a.stored.delta;
  if (!(a.stored.dp_sigma > 0) || !a.round.setup()) return x;
  // The session completes with at least t survivors, so t shares of
  // variance sigma^2 / t give the sum at least the central noise sigma^2.
  const double t = static_cast<double>(std::max<uint64_t>(a.round.setup()->threshold, 1));
  std::array<uint8_t, 8> seed_bytes{};
  uint64_t seed = 0;
  if (sa::system_random()(seed_bytes).is_ok())
    for (uint8_t b : seed_bytes) seed = seed << 8 | b;
  std::mt19937_64 rng(seed ^ static_cast<uint64_t>(clock_.monotonic_ns()));
  std::normal_distribution<double> noise(0.0, a.stored.dp_sigma / std::sqrt(t));
  for (float& v : x) v = static_cast<float>(v + noise(rng));
  return x;
}

Result<SecAggStep> SecAggDriver::step() {
  if (!loaded_) EDGEFED_RETURN_IF_ERROR(load());
  if (!round_ || !link_.ready()) return SecAggStep{};
  Active& a = *round_;
  const SecAggResult next = link_.secagg_next(a.stored.session);
  if (next.outcome == Outcome::kRetry) return SecAggStep{};
  if (next.outcome == Outcome::kRejected) {
    // 404: the server forgot the session (it ended long ago) or runs
    // without secure aggregation now; any other refusal of this session id
    // would repeat forever.
    return finish(SecAggEnd::kAborted, next.http_status == 404 ? "unknown_session" : "refused",
                  next.status.to_string());
  }
  const json& j = next.body;
  const std::string type = text_of(j, "type");
  if (type == "wait") {
    // Until the setup comes the server only knows this agent from its
    // advertisement: (re)sent once per process (a retry is accepted).
    if (text_of(j, "phase") == "advertise" && !a.advertised) {
      const SecAggResult posted = link_.secagg_post(a.round.advertise().to_json());
      if (posted.outcome == Outcome::kOk) a.advertised = true;
      if (posted.outcome == Outcome::kRejected) {
        log::warn("secagg_message_refused")
            .kv("agent", agent_id_)
            .kv("session", a.stored.session)
            .kv("message", "advertise_keys")
            .kv("error", posted.status.to_string());
      }
    }
    return SecAggStep{};
  }
  if (type == "done") {
    std::string detail = "merged";
    if (auto v = j.find("version"); v != j.end() && v->is_number_integer())
      detail += " as version " + std::to_string(v->get<int64_t>());
    if (auto n = j.find("survivors"); n != j.end() && n->is_number_unsigned())
      detail += ", " + std::to_string(n->get<uint64_t>()) + " survivors";
    return finish(SecAggEnd::kDone, "done", detail);
  }
  if (type == "aborted") return finish(SecAggEnd::kAborted, "aborted", text_of(j, "reason"));
  if (type == "excluded") {
    return finish(SecAggEnd::kAborted, "excluded", "left out of the session in phase " + text_of(j, "phase"));
  }
  // A server message: the ClientRound checks it; a refusal ends the round
  // (the server then counts this agent as a dropout).
  Status refused;
  if (type == "round_setup") {
    auto m = sa::RoundSetup::from_json(j);
    auto upload = m ? a.round.on_setup(*m, sa::system_random()) : Result<sa::ShareUpload>(m.status());
    if (upload) {
      EDGEFED_RETURN_IF_ERROR(answer(upload->to_json(), "share_upload"));
      return SecAggStep{};
    }
    refused = upload.status();
  } else if (type == "share_delivery") {
    auto m = sa::ShareDelivery::from_json(j);
    auto q = a.round.quantizer();
    Result<sa::MaskedInput> masked = !m ? Result<sa::MaskedInput>(m.status())
                                     : !q ? Result<sa::MaskedInput>(q.status())
                                          : a.round.on_delivery(*m, with_noise(a), *q);
    if (masked) {
      EDGEFED_RETURN_IF_ERROR(answer(masked->to_json(), "masked_input"));
      return SecAggStep{};
    }
    refused = masked.status();
  } else if (type == "unmask_request") {
    auto m = sa::UnmaskRequest::from_json(j);
    auto response = m ? a.round.on_unmask(*m) : Result<sa::UnmaskResponse>(m.status());
    if (response) {
      EDGEFED_RETURN_IF_ERROR(answer(response->to_json(), "unmask_response"));
      return SecAggStep{};
    }
    refused = response.status();
  } else {
    refused = Status(Code::kInvalidArgument, "unknown answer type '" + type + "' from GET /v1/secagg/next");
  }
  return finish(SecAggEnd::kAborted, "refused", (type.empty() ? std::string("answer") : type) + ": " +
                                                    refused.to_string());
}

Status SecAggDriver::answer(const json& message, const char* what) {
  Active& a = *round_;
  std::vector<uint8_t> snapshot = a.round.snapshot();
  if (snapshot != a.stored.snapshot) {
    Status st = outbox_.replace_secagg_snapshot(a.stored.session, snapshot);
    if (!st.is_ok()) {
      // Not durable, so not sent: back to the state stored, which answers
      // the server's next offer afresh.
      if (auto back = sa::ClientRound::restore(a.stored.snapshot)) {
        a.round = std::move(*back);
      } else {
        loaded_ = false;  // reload from the outbox at the next step
        round_.reset();
      }
      return st;
    }
    a.stored.snapshot = std::move(snapshot);
  }
  const SecAggResult posted = link_.secagg_post(message);
  if (posted.outcome == Outcome::kRejected) {
    // The session goes on without this message; GET next says how it ends.
    log::warn("secagg_message_refused")
        .kv("agent", agent_id_)
        .kv("session", a.stored.session)
        .kv("message", what)
        .kv("error", posted.status.to_string());
  }
  return Status::ok();
}

Result<SecAggStep> SecAggDriver::finish(SecAggEnd how, const std::string& outcome, const std::string& detail) {
  const SecAggRound& s = round_->stored;
  EDGEFED_RETURN_IF_ERROR(outbox_.end_secagg_round(s.session, how, outcome + ": " + detail, clock_.unix_ms()));
  log::Event(how == SecAggEnd::kDone ? log::Level::kInfo : log::Level::kWarn, "secagg_round_ended")
      .kv("agent", agent_id_)
      .kv("session", s.session)
      .kv("base_version", s.base_version)
      .kv("outcome", outcome)
      .kv("reason", detail);
  SecAggStep out;
  out.ended = true;
  out.how = how;
  out.outcome = outcome;
  out.base_version = s.base_version;
  round_.reset();
  return out;
}

}  // namespace edgefed::agent
