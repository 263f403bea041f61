// ClientRound's snapshot: magic "EFSC", version 1, then (little-endian,
// counts as u32, strings as u32 length | bytes):
//   phase u8 | secrets wiped u8 | advertise_keys (its JSON text)
//   enc secret key 32 | mask secret key 32 | self seed 32 (zeros once wiped)
//   for setup, upload, delivery, masked input, unmask request, unmask
//     response: present u8 | the message's JSON text (messages.hpp)
//   held shares: count x (owner u64, self-seed share 51, mask-key share 51)
// then SHA-256 of all of the above. The messages go through their own
// strict parsers on restore, and the whole must fit the phase.
#include <algorithm>
#include <string>

#include "edgefed/protocol.hpp"
#include "edgefed/secagg/client_round.hpp"
#include "wire.hpp"

namespace edgefed::secagg {
namespace {

constexpr std::string_view kClientSnapshotMagic = "EFSC";
constexpr std::uint16_t kClientSnapshotVersion = 1;

template <typename M>
void put_message(wire::Writer& w, const std::optional<M>& m) {
  w.u8(m ? 1 : 0);
  if (m) w.str(m->to_json().dump());
}

template <typename M>
Status get_message(wire::Reader& r, std::optional<M>& out) {
  if (r.u8() == 0) return Status::ok();
  const std::string text = r.str();
  if (!r.ok()) return Status::ok();  // the reader's error is reported
  auto j = parse_json(text, text.size() + 1);
  if (!j.is_ok()) return j.status();
  auto m = M::from_json(*j);
  if (!m.is_ok()) return m.status();
  out = std::move(m).value();
  return Status::ok();
}

}  // namespace

struct ClientRoundCodec {
  static std::vector<std::uint8_t> encode(const ClientRound& c) {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(c.phase_));
    w.u8(c.secrets_wiped_ ? 1 : 0);
    w.str(c.advert_.to_json().dump());
    w.key(c.enc_.secret_key);
    w.key(c.mask_.secret_key);
    w.key(c.self_seed_);
    put_message(w, c.setup_);
    put_message(w, c.upload_);
    put_message(w, c.delivery_);
    put_message(w, c.masked_);
    put_message(w, c.request_);
    put_message(w, c.response_);
    w.u32(static_cast<std::uint32_t>(c.held_.size()));
    for (const auto& [owner, b] : c.held_) {
      w.u64(owner);
      w.share(b.self_seed_share);
      w.share(b.mask_key_share);
    }
    return wire::seal_snapshot(kClientSnapshotMagic, kClientSnapshotVersion, w.out());
  }

  static Status corrupt(const std::string& what) {
    return Status(Code::kInvalidArgument, "corrupt secagg client snapshot: " + what);
  }

  static Result<ClientRound> decode(std::span<const std::uint8_t> snapshot) {
    auto body = wire::open_snapshot(snapshot, kClientSnapshotMagic, kClientSnapshotVersion, "secagg client");
    if (!body.is_ok()) return body.status();
    wire::Reader r(*body);
    ClientRound c;
    const std::uint8_t phase = r.u8();
    if (phase > static_cast<std::uint8_t>(ClientPhase::kDone)) r.fail("unknown phase");
    c.phase_ = static_cast<ClientPhase>(phase);
    c.secrets_wiped_ = r.u8() != 0;
    std::optional<AdvertiseKeys> advert;
    Status st = Status::ok();
    {
      const std::string text = r.str();
      if (r.ok()) {
        auto j = parse_json(text, text.size() + 1);
        auto m = j.is_ok() ? AdvertiseKeys::from_json(*j) : Result<AdvertiseKeys>(j.status());
        if (m.is_ok()) {
          advert = *m;
        } else {
          st = m.status();
        }
      }
    }
    c.enc_.secret_key = r.key();
    c.mask_.secret_key = r.key();
    c.self_seed_ = r.key();
    for (Status s : {get_message(r, c.setup_), get_message(r, c.upload_), get_message(r, c.delivery_),
                     get_message(r, c.masked_), get_message(r, c.request_), get_message(r, c.response_)}) {
      if (st.is_ok()) st = s;
    }
    const std::size_t held = r.count(8 + 2 * kShareWireBytes);
    for (std::size_t i = 0; i < held && r.ok(); ++i) {
      const AgentId owner = r.u64();
      ShareBundle b;
      b.self_seed_share = r.share();
      b.mask_key_share = r.share();
      if (!c.held_.emplace(owner, b).second) r.fail("held share repeated");
    }
    if (r.ok() && !r.at_end()) r.fail("trailing bytes");
    if (!r.ok()) return corrupt(r.error());
    if (!st.is_ok()) return corrupt(st.message());
    if (!advert) return corrupt("no advertise_keys");
    c.advert_ = *advert;
    c.enc_.public_key = advert->enc_public_key;
    c.mask_.public_key = advert->mask_public_key;
    if (Status inv = check_invariants(c); !inv.is_ok()) return corrupt(inv.message());
    return c;
  }

  static Status check_invariants(const ClientRound& c) {
    auto bad = [](const char* what) { return Status(Code::kInvalidArgument, what); };
    const int phase = static_cast<int>(c.phase_);
    const bool want_setup = phase >= static_cast<int>(ClientPhase::kSharesSent);
    const bool want_masked = phase >= static_cast<int>(ClientPhase::kMaskedSent);
    const bool want_response = phase >= static_cast<int>(ClientPhase::kDone);
    if (c.setup_.has_value() != want_setup || c.upload_.has_value() != want_setup) {
      return bad("setup/upload disagree with the phase");
    }
    if (c.delivery_.has_value() != want_masked || c.masked_.has_value() != want_masked) {
      return bad("delivery/masked input disagree with the phase");
    }
    if (c.request_.has_value() != want_response || c.response_.has_value() != want_response) {
      return bad("unmask request/response disagree with the phase");
    }
    if (c.secrets_wiped_ != want_masked) return bad("secret keys disagree with the phase");
    if ((phase == static_cast<int>(ClientPhase::kMaskedSent)) != !c.held_.empty()) {
      return bad("held shares disagree with the phase");
    }
    if (!c.secrets_wiped_) {
      // The secret keys still match the advertised public keys.
      auto enc = x25519_public_key(c.enc_.secret_key);
      auto mask = x25519_public_key(c.mask_.secret_key);
      if (!enc.is_ok() || !mask.is_ok() || *enc != c.enc_.public_key || *mask != c.mask_.public_key) {
        return bad("secret keys do not match the advertised public keys");
      }
    }
    const std::string& session = c.advert_.session;
    const AgentId self = c.advert_.agent;
    auto mine = [&](const auto& m) { return !m || (m->session == session && m->agent == self); };
    if (!mine(c.setup_) || !mine(c.upload_) || !mine(c.delivery_) || !mine(c.masked_) || !mine(c.request_) ||
        !mine(c.response_)) {
      return bad("a message of another session or agent");
    }
    if (c.delivery_) {
      for (const auto& [owner, b] : c.held_) {
        if (!std::binary_search(c.delivery_->senders.begin(), c.delivery_->senders.end(), owner) ||
            b.self_seed_share.x != self || b.mask_key_share.x != self) {
          return bad("held shares outside U2");
        }
      }
    }
    return Status::ok();
  }
};

std::vector<std::uint8_t> ClientRound::snapshot() const { return ClientRoundCodec::encode(*this); }

Result<ClientRound> ClientRound::restore(std::span<const std::uint8_t> snapshot) {
  return ClientRoundCodec::decode(snapshot);
}

}  // namespace edgefed::secagg
