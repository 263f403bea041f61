// ServerRound's snapshot: magic "EFSS", version 1, then (little-endian,
// counts as u32, byte strings as u32 length | bytes):
//   config: session, vector_length u64, clip f64, min_agents u64, degree u64
//   phase u8 | abort code u8 | abort message
//   adverts: count x (agent u64, enc key 32, mask key 32, num_samples u64)
//   has seed u8 | seed 32 | degree u64 | threshold u64
//   uploads: count x (sender u64, count x (recipient u64, envelope bytes))
//   U2: count x u64
//   running masked sum: count x u32
//   masked digests: count x (agent u64, SHA-256 32)
//   U3: count x u64
//   responses: count x (agent u64, seed shares: count x (owner u64, share
//     51), key shares: likewise)
//   has result u8 | mean: count x f32 bits | survivors: count x u64 |
//     survivor_samples u64
// then SHA-256 of all of the above. restore() re-derives the graph from U1
// and the seed and checks that the pieces fit together, so that a
// snapshot that passes is one that the state machine could have written.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "edgefed/secagg/server_round.hpp"
#include "wire.hpp"

namespace edgefed::secagg {
namespace {

constexpr std::string_view kServerSnapshotMagic = "EFSS";
constexpr std::uint16_t kServerSnapshotVersion = 1;

void put_ids(wire::Writer& w, const std::vector<AgentId>& ids) {
  w.u32(static_cast<std::uint32_t>(ids.size()));
  for (AgentId a : ids) w.u64(a);
}

std::vector<AgentId> get_ids(wire::Reader& r) {
  const std::size_t n = r.count(8);
  std::vector<AgentId> ids;
  ids.reserve(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    ids.push_back(r.u64());
    if (ids.size() > 1 && ids.back() <= ids[ids.size() - 2]) r.fail("id list not ascending");
  }
  return ids;
}

void put_shares(wire::Writer& w, const std::map<AgentId, ShamirShare>& shares) {
  w.u32(static_cast<std::uint32_t>(shares.size()));
  for (const auto& [owner, share] : shares) {
    w.u64(owner);
    w.share(share);
  }
}

std::map<AgentId, ShamirShare> get_shares(wire::Reader& r) {
  std::map<AgentId, ShamirShare> shares;
  const std::size_t n = r.count(8 + kShareWireBytes);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    const AgentId owner = r.u64();
    const ShamirShare share = r.share();
    if (!shares.emplace(owner, share).second) r.fail("share owner repeated");
  }
  return shares;
}

bool subset(const std::vector<AgentId>& a, const std::vector<AgentId>& b) {
  return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

}  // namespace

struct ServerRoundCodec {
  static std::vector<std::uint8_t> encode(const ServerRound& s) {
    wire::Writer w;
    w.str(s.config_.session);
    w.u64(s.config_.vector_length);
    w.f64(s.config_.clip);
    w.u64(s.config_.min_agents);
    w.u64(s.config_.degree);
    w.u8(static_cast<std::uint8_t>(s.phase_));
    w.u8(static_cast<std::uint8_t>(s.abort_status_.code()));
    w.str(s.abort_status_.message());
    w.u32(static_cast<std::uint32_t>(s.adverts_.size()));
    for (const auto& [a, m] : s.adverts_) {
      w.u64(a);
      w.key(m.enc_public_key);
      w.key(m.mask_public_key);
      w.u64(m.num_samples);
    }
    w.u8(s.graph_seed_ ? 1 : 0);
    w.key(s.graph_seed_.value_or(Key32{}));
    w.u64(s.degree_);
    w.u64(s.threshold_);
    w.u32(static_cast<std::uint32_t>(s.uploads_.size()));
    for (const auto& [a, m] : s.uploads_) {
      w.u64(a);
      w.u32(static_cast<std::uint32_t>(m.envelopes.size()));
      for (const auto& [to, env] : m.envelopes) {
        w.u64(to);
        w.bytes(env);
      }
    }
    put_ids(w, s.u2_);
    w.u32(static_cast<std::uint32_t>(s.masked_sum_.size()));
    for (std::uint32_t v : s.masked_sum_) w.u32(v);
    w.u32(static_cast<std::uint32_t>(s.masked_digests_.size()));
    for (const auto& [a, d] : s.masked_digests_) {
      w.u64(a);
      w.key(d);
    }
    put_ids(w, s.u3_);
    w.u32(static_cast<std::uint32_t>(s.responses_.size()));
    for (const auto& [a, m] : s.responses_) {
      w.u64(a);
      put_shares(w, m.seed_shares);
      put_shares(w, m.key_shares);
    }
    w.u8(s.result_ ? 1 : 0);
    if (s.result_) {
      w.u32(static_cast<std::uint32_t>(s.result_->mean.size()));
      for (float f : s.result_->mean) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, &f, sizeof bits);
        w.u32(bits);
      }
      put_ids(w, s.result_->survivors);
      w.u64(s.result_->survivor_samples);
    }
    return wire::seal_snapshot(kServerSnapshotMagic, kServerSnapshotVersion, w.out());
  }

  static Result<ServerRound> decode(std::span<const std::uint8_t> snapshot) {
    auto body = wire::open_snapshot(snapshot, kServerSnapshotMagic, kServerSnapshotVersion, "secagg server");
    if (!body.is_ok()) return body.status();
    wire::Reader r(*body);
    ServerRoundConfig config;
    config.session = r.str();
    config.vector_length = r.u64();
    config.clip = r.f64();
    config.min_agents = r.u64();
    config.degree = r.u64();
    if (!r.ok()) return corrupt(r.error());
    auto created = ServerRound::create(config);
    if (!created.is_ok()) return corrupt("configuration: " + created.status().message());
    ServerRound s = std::move(created).value();

    const std::uint8_t phase = r.u8();
    if (phase > static_cast<std::uint8_t>(ServerPhase::kAborted)) r.fail("unknown phase");
    s.phase_ = static_cast<ServerPhase>(phase);
    const std::uint8_t code = r.u8();
    const std::string abort_message = r.str();
    if (code > static_cast<std::uint8_t>(Code::kIo)) r.fail("unknown abort code");
    if (code != 0) s.abort_status_ = Status(static_cast<Code>(code), abort_message);

    const std::size_t adverts = r.count(8 + 32 + 32 + 8);
    for (std::size_t i = 0; i < adverts && r.ok(); ++i) {
      AdvertiseKeys m;
      m.session = config.session;
      m.agent = r.u64();
      m.enc_public_key = r.key();
      m.mask_public_key = r.key();
      m.num_samples = r.u64();
      if (!wire::valid_agent(m.agent) || m.num_samples < 1 || m.num_samples > kMaxNumSamples) r.fail("bad advert");
      if (!s.adverts_.emplace(m.agent, m).second) r.fail("advert repeated");
    }
    const bool has_seed = r.u8() != 0;
    const Key32 seed = r.key();
    s.degree_ = r.u64();
    s.threshold_ = r.u64();
    if (has_seed) s.graph_seed_ = seed;

    const std::size_t uploads = r.count(8 + 4);
    for (std::size_t i = 0; i < uploads && r.ok(); ++i) {
      ShareUpload m;
      m.session = config.session;
      m.agent = r.u64();
      const std::size_t envelopes = r.count(8 + 4);
      for (std::size_t e = 0; e < envelopes && r.ok(); ++e) {
        const AgentId to = r.u64();
        if (!m.envelopes.emplace(to, r.bytes()).second) r.fail("envelope repeated");
      }
      if (!s.adverts_.contains(m.agent)) r.fail("upload from an agent outside U1");
      if (!s.uploads_.emplace(m.agent, std::move(m)).second) r.fail("upload repeated");
    }
    s.u2_ = get_ids(r);
    const std::size_t words = r.count(4);
    s.masked_sum_.resize(words);
    for (std::size_t i = 0; i < words && r.ok(); ++i) s.masked_sum_[i] = r.u32();
    const std::size_t digests = r.count(8 + 32);
    for (std::size_t i = 0; i < digests && r.ok(); ++i) {
      const AgentId a = r.u64();
      if (!s.masked_digests_.emplace(a, r.key()).second) r.fail("digest repeated");
    }
    s.u3_ = get_ids(r);
    const std::size_t responses = r.count(8 + 4 + 4);
    for (std::size_t i = 0; i < responses && r.ok(); ++i) {
      UnmaskResponse m;
      m.session = config.session;
      m.agent = r.u64();
      m.seed_shares = get_shares(r);
      m.key_shares = get_shares(r);
      if (!s.responses_.emplace(m.agent, std::move(m)).second) r.fail("response repeated");
    }
    if (r.u8() != 0) {
      AggregateResult result;
      const std::size_t n = r.count(4);
      result.mean.resize(n);
      for (std::size_t i = 0; i < n && r.ok(); ++i) {
        const std::uint32_t bits = r.u32();
        std::memcpy(&result.mean[i], &bits, sizeof bits);
      }
      result.survivors = get_ids(r);
      result.survivor_samples = r.u64();
      s.result_ = std::move(result);
    }
    if (r.ok() && !r.at_end()) r.fail("trailing bytes");
    if (!r.ok()) return corrupt(r.error());
    if (Status st = check_invariants(s); !st.is_ok()) return corrupt(st.message());
    return s;
  }

  static Status corrupt(const std::string& what) {
    return Status(Code::kInvalidArgument, "corrupt secagg server snapshot: " + what);
  }

  // What every accepting path of ServerRound guarantees, checked again so
  // that the later calls' lookups hold.
  static Status check_invariants(ServerRound& s) {
    auto bad = [](const char* what) { return Status(Code::kInvalidArgument, what); };
    const bool aborted = s.phase_ == ServerPhase::kAborted;
    if (aborted != !s.abort_status_.is_ok()) return bad("abort status disagrees with the phase");
    const int phase = static_cast<int>(s.phase_);
    const bool closed_advertise = s.graph_seed_.has_value();
    if (!aborted && closed_advertise != (phase >= static_cast<int>(ServerPhase::kShares))) {
      return bad("graph seed disagrees with the phase");
    }
    if (closed_advertise) {
      if (s.threshold_ != s.degree_ / 2 + 1) return bad("threshold is not k / 2 + 1");
      if (Status st = s.build_graph(); !st.is_ok()) return bad("graph cannot be rebuilt");
      s.total_samples_ = 0;
      for (const auto& [a, m] : s.adverts_) s.total_samples_ += m.num_samples;
    } else if (!s.uploads_.empty() || !s.u2_.empty()) {
      return bad("shares before the advertise phase closed");
    }
    std::vector<AgentId> uploaders;
    for (const auto& [a, m] : s.uploads_) uploaders.push_back(a);
    if (!subset(s.u2_, uploaders)) return bad("U2 holds an agent without an upload");
    for (const auto& [a, m] : s.uploads_) {
      const auto neighbours = s.graph_->neighbours(a);
      if (m.envelopes.size() != neighbours.size()) return bad("an upload does not cover its neighbours");
      for (AgentId v : neighbours) {
        if (!m.envelopes.contains(v)) return bad("an upload does not cover its neighbours");
      }
    }
    std::vector<AgentId> maskers;
    for (const auto& [a, d] : s.masked_digests_) maskers.push_back(a);
    if (!subset(maskers, s.u2_) || !subset(s.u3_, maskers)) return bad("masked senders outside U2");
    const bool collecting = s.phase_ == ServerPhase::kMasked || s.phase_ == ServerPhase::kUnmask;
    if (collecting && s.masked_sum_.size() != s.config_.vector_length) return bad("running sum of the wrong length");
    if (!collecting && !s.masked_sum_.empty()) return bad("running sum outside the masked/unmask phases");
    if (!aborted && phase >= static_cast<int>(ServerPhase::kMasked) && s.u2_.size() < s.threshold_) {
      return bad("U2 below the threshold");
    }
    if (!aborted && phase >= static_cast<int>(ServerPhase::kUnmask) && s.u3_.size() < s.threshold_) {
      return bad("U3 below the threshold");
    }
    for (const auto& [a, m] : s.responses_) {
      if (!s.in_u3(a) || m.agent != a) return bad("response from outside U3");
    }
    if (s.result_.has_value() != (s.phase_ == ServerPhase::kDone)) return bad("result disagrees with the phase");
    if (s.result_ && s.result_->mean.size() != s.config_.vector_length) return bad("result of the wrong length");
    return Status::ok();
  }
};

std::vector<std::uint8_t> ServerRound::snapshot() const { return ServerRoundCodec::encode(*this); }

Result<ServerRound> ServerRound::restore(std::span<const std::uint8_t> snapshot) {
  return ServerRoundCodec::decode(snapshot);
}

}  // namespace edgefed::secagg
