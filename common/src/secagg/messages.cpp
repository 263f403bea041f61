#include "edgefed/secagg/messages.hpp"

#include <exception>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "wire.hpp"

namespace edgefed::secagg {
namespace {

using nlohmann::json;
using wire::JsonIn;

std::string b64(std::span<const std::uint8_t> bytes) { return wire::base64_encode(bytes); }

json ids_json(const std::vector<AgentId>& ids) {
  json a = json::array();
  for (AgentId id : ids) a.push_back(id);
  return a;
}

json envelopes_json(const std::map<AgentId, std::vector<std::uint8_t>>& envelopes, const char* id_key) {
  json a = json::array();
  for (const auto& [id, env] : envelopes) a.push_back(json{{id_key, id}, {"envelope", b64(env)}});
  return a;
}

json shares_json(const std::map<AgentId, ShamirShare>& shares) {
  json a = json::array();
  for (const auto& [owner, share] : shares) a.push_back(json{{"owner", owner}, {"share", b64(serialize_share(share))}});
  return a;
}

// An array of {id_key, envelope} objects, strictly ascending by id.
std::map<AgentId, std::vector<std::uint8_t>> read_envelopes(JsonIn& in, std::string_view key, const char* id_key) {
  std::map<AgentId, std::vector<std::uint8_t>> out;
  const json* a = in.array(key, kMaxSessionAgents);
  if (a == nullptr) return out;
  AgentId last = 0;
  for (std::size_t i = 0; i < a->size() && in.ok(); ++i) {
    JsonIn e((*a)[i], in.item(key, i), {id_key, "envelope"});
    const AgentId id = e.agent(id_key);
    std::vector<std::uint8_t> env = e.b64("envelope", kShareEnvelopeBytes);
    if (e.ok() && id <= last) e.fail(id_key, "must be strictly ascending (sorted, no repeats)");
    in.adopt(e.status());
    if (!e.ok()) break;
    last = id;
    out.emplace(id, std::move(env));
  }
  return out;
}

std::map<AgentId, ShamirShare> read_shares(JsonIn& in, std::string_view key, AgentId holder) {
  std::map<AgentId, ShamirShare> out;
  const json* a = in.array(key, kMaxSessionAgents);
  if (a == nullptr) return out;
  AgentId last = 0;
  for (std::size_t i = 0; i < a->size() && in.ok(); ++i) {
    JsonIn e((*a)[i], in.item(key, i), {"owner", "share"});
    const AgentId owner = e.agent("owner");
    const std::vector<std::uint8_t> bytes = e.b64("share", kShareWireBytes);
    ShamirShare share;
    if (e.ok()) {
      auto parsed = parse_share(bytes);
      if (!parsed.is_ok()) {
        e.fail("share", parsed.status().message());
      } else {
        share = *parsed;
        if (share.x != holder) {
          e.fail("share",
                 "is agent " + std::to_string(share.x) + "'s share, not the sender's (" + std::to_string(holder) + ")");
        }
      }
    }
    if (e.ok() && owner <= last) e.fail("owner", "must be strictly ascending (sorted, no repeats)");
    if (e.ok() && owner == holder) e.fail("owner", "is the sender itself");
    in.adopt(e.status());
    if (!e.ok()) break;
    last = owner;
    out.emplace(owner, share);
  }
  return out;
}

// Runs a parser, turning any exception (a bug, or memory exhaustion) into
// a Status: nothing escapes from_json.
template <typename T, typename F>
Result<T> guarded(std::string_view what, F&& parse) {
  try {
    return parse();
  } catch (const std::exception& e) {
    return Status(Code::kInvalidArgument, std::string(what) + ": " + e.what());
  }
}

}  // namespace

bool valid_session_id(std::string_view session) {
  if (session.empty() || session.size() > 128) return false;
  for (char c : session) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// ---- AdvertiseKeys

json AdvertiseKeys::to_json() const {
  return json{{"type", "advertise_keys"},
              {"session", session},
              {"agent", agent},
              {"enc_public_key", b64(enc_public_key)},
              {"mask_public_key", b64(mask_public_key)},
              {"num_samples", num_samples}};
}

Result<AdvertiseKeys> AdvertiseKeys::from_json(const json& j) {
  return guarded<AdvertiseKeys>("advertise_keys", [&]() -> Result<AdvertiseKeys> {
    JsonIn in(j, "advertise_keys", {"type", "session", "agent", "enc_public_key", "mask_public_key", "num_samples"},
              "advertise_keys");
    AdvertiseKeys m;
    m.session = in.session("session");
    m.agent = in.agent("agent");
    m.enc_public_key = in.key32("enc_public_key");
    m.mask_public_key = in.key32("mask_public_key");
    m.num_samples = in.u64("num_samples", 1, kMaxNumSamples);
    if (!in.ok()) return in.status();
    return m;
  });
}

// ---- RoundSetup

json RoundSetup::to_json() const {
  json n = json::array();
  for (const NeighbourKeys& k : neighbours) {
    n.push_back(json{{"agent", k.agent},
                     {"enc_public_key", b64(k.enc_public_key)},
                     {"mask_public_key", b64(k.mask_public_key)},
                     {"num_samples", k.num_samples}});
  }
  return json{{"type", "round_setup"},
              {"session", session},
              {"agent", agent},
              {"graph_seed", b64(graph_seed)},
              {"degree", degree},
              {"threshold", threshold},
              {"agents", ids_json(agents)},
              {"neighbours", std::move(n)},
              {"weight", weight},
              {"cohort_size", cohort_size},
              {"clip", clip},
              {"vector_length", vector_length}};
}

Result<RoundSetup> RoundSetup::from_json(const json& j) {
  return guarded<RoundSetup>("round_setup", [&]() -> Result<RoundSetup> {
    JsonIn in(j, "round_setup",
              {"type", "session", "agent", "graph_seed", "degree", "threshold", "agents", "neighbours", "weight",
               "cohort_size", "clip", "vector_length"},
              "round_setup");
    RoundSetup m;
    m.session = in.session("session");
    m.agent = in.agent("agent");
    m.graph_seed = in.key32("graph_seed");
    m.degree = in.u64("degree", 1, kMaxSessionAgents - 1);
    m.threshold = in.u64("threshold", 1, kMaxSessionAgents);
    m.agents = in.agents("agents", kMaxSessionAgents);
    if (const json* a = in.array("neighbours", kMaxSessionAgents)) {
      for (std::size_t i = 0; i < a->size() && in.ok(); ++i) {
        JsonIn e((*a)[i], in.item("neighbours", i), {"agent", "enc_public_key", "mask_public_key", "num_samples"});
        NeighbourKeys k;
        k.agent = e.agent("agent");
        k.enc_public_key = e.key32("enc_public_key");
        k.mask_public_key = e.key32("mask_public_key");
        k.num_samples = e.u64("num_samples", 1, kMaxNumSamples);
        if (e.ok() && !m.neighbours.empty() && k.agent <= m.neighbours.back().agent) {
          e.fail("agent", "must be strictly ascending (sorted, no repeats)");
        }
        in.adopt(e.status());
        m.neighbours.push_back(k);
      }
    }
    m.weight = in.number("weight", 0.0, 1.0);
    m.cohort_size = in.u64("cohort_size", 1, kMaxSessionAgents);
    m.clip = in.number("clip", 0.0, std::numeric_limits<double>::max());
    m.vector_length = in.u64("vector_length", 1, kMaxVectorLength);
    if (!in.ok()) return in.status();
    return m;
  });
}

// ---- ShareUpload

json ShareUpload::to_json() const {
  return json{
      {"type", "share_upload"}, {"session", session}, {"agent", agent}, {"envelopes", envelopes_json(envelopes, "to")}};
}

Result<ShareUpload> ShareUpload::from_json(const json& j) {
  return guarded<ShareUpload>("share_upload", [&]() -> Result<ShareUpload> {
    JsonIn in(j, "share_upload", {"type", "session", "agent", "envelopes"}, "share_upload");
    ShareUpload m;
    m.session = in.session("session");
    m.agent = in.agent("agent");
    m.envelopes = read_envelopes(in, "envelopes", "to");
    if (in.ok() && m.envelopes.contains(m.agent)) in.fail("envelopes", "holds an envelope to the sender itself");
    if (!in.ok()) return in.status();
    return m;
  });
}

// ---- ShareDelivery

json ShareDelivery::to_json() const {
  return json{{"type", "share_delivery"},
              {"session", session},
              {"agent", agent},
              {"senders", ids_json(senders)},
              {"envelopes", envelopes_json(envelopes, "from")}};
}

Result<ShareDelivery> ShareDelivery::from_json(const json& j) {
  return guarded<ShareDelivery>("share_delivery", [&]() -> Result<ShareDelivery> {
    JsonIn in(j, "share_delivery", {"type", "session", "agent", "senders", "envelopes"}, "share_delivery");
    ShareDelivery m;
    m.session = in.session("session");
    m.agent = in.agent("agent");
    m.senders = in.agents("senders", kMaxSessionAgents);
    m.envelopes = read_envelopes(in, "envelopes", "from");
    if (in.ok() && m.envelopes.contains(m.agent)) in.fail("envelopes", "holds an envelope from the recipient itself");
    if (!in.ok()) return in.status();
    return m;
  });
}

// ---- MaskedInput

json MaskedInput::to_json() const {
  std::vector<std::uint8_t> bytes(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<std::uint8_t>(values[i] >> (8 * b));
  }
  return json{{"type", "masked_input"},
              {"session", session},
              {"agent", agent},
              {"length", values.size()},
              {"values", b64(bytes)}};
}

Result<MaskedInput> MaskedInput::from_json(const json& j) {
  return guarded<MaskedInput>("masked_input", [&]() -> Result<MaskedInput> {
    JsonIn in(j, "masked_input", {"type", "session", "agent", "length", "values"}, "masked_input");
    MaskedInput m;
    m.session = in.session("session");
    m.agent = in.agent("agent");
    const std::uint64_t length = in.u64("length", 1, kMaxVectorLength);
    // The length is checked first, so the decoded size is bounded by it.
    const std::vector<std::uint8_t> bytes = in.ok() ? in.b64("values", length * 4) : std::vector<std::uint8_t>{};
    if (!in.ok()) return in.status();
    m.values.resize(length);
    for (std::size_t i = 0; i < length; ++i) {
      m.values[i] = std::uint32_t{bytes[4 * i]} | std::uint32_t{bytes[4 * i + 1]} << 8 |
                    std::uint32_t{bytes[4 * i + 2]} << 16 | std::uint32_t{bytes[4 * i + 3]} << 24;
    }
    return m;
  });
}

// ---- UnmaskRequest

json UnmaskRequest::to_json() const {
  return json{{"type", "unmask_request"},
              {"session", session},
              {"agent", agent},
              {"survivors", ids_json(survivors)},
              {"dropouts", ids_json(dropouts)}};
}

Result<UnmaskRequest> UnmaskRequest::from_json(const json& j) {
  return guarded<UnmaskRequest>("unmask_request", [&]() -> Result<UnmaskRequest> {
    JsonIn in(j, "unmask_request", {"type", "session", "agent", "survivors", "dropouts"}, "unmask_request");
    UnmaskRequest m;
    m.session = in.session("session");
    m.agent = in.agent("agent");
    m.survivors = in.agents("survivors", kMaxSessionAgents);
    m.dropouts = in.agents("dropouts", kMaxSessionAgents);
    // Overlapping sets are well-formed JSON; the client refuses them.
    if (!in.ok()) return in.status();
    return m;
  });
}

// ---- UnmaskResponse

json UnmaskResponse::to_json() const {
  return json{{"type", "unmask_response"},
              {"session", session},
              {"agent", agent},
              {"seed_shares", shares_json(seed_shares)},
              {"key_shares", shares_json(key_shares)}};
}

Result<UnmaskResponse> UnmaskResponse::from_json(const json& j) {
  return guarded<UnmaskResponse>("unmask_response", [&]() -> Result<UnmaskResponse> {
    JsonIn in(j, "unmask_response", {"type", "session", "agent", "seed_shares", "key_shares"}, "unmask_response");
    UnmaskResponse m;
    m.session = in.session("session");
    m.agent = in.agent("agent");
    if (in.ok()) m.seed_shares = read_shares(in, "seed_shares", m.agent);
    if (in.ok()) m.key_shares = read_shares(in, "key_shares", m.agent);
    if (in.ok()) {
      for (const auto& [owner, unused] : m.seed_shares) {
        if (m.key_shares.contains(owner)) {
          in.fail("key_shares",
                  "holds agent " + std::to_string(owner) + "'s key share next to its seed share (never both)");
          break;
        }
      }
    }
    if (!in.ok()) return in.status();
    return m;
  });
}

}  // namespace edgefed::secagg
