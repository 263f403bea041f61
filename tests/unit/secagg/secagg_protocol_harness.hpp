// A test driver for the SecAgg+ state machines: one ServerRound and one
// ClientRound per agent, every message serialised to JSON text and parsed
// back at every hop, optionally every state machine snapshotted and
// restored from its bytes after every call. Steps can be run one by one so
// that tests can slip bad messages in between.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"
#include "edgefed/secagg/client_round.hpp"
#include "edgefed/secagg/server_round.hpp"
#include "secagg_test_util.hpp"

namespace secagg_protocol_test {

using namespace edgefed;
using namespace edgefed::secagg;

inline constexpr double kClip = 1.0;

// A message through its JSON text and back; the parse must give it back.
template <typename M>
M hop(const M& m) {
  const std::string text = m.to_json().dump();
  auto j = parse_json(text, text.size() + 1);
  REQUIRE(j.is_ok());
  auto back = M::from_json(*j);
  INFO(back.status().to_string());
  REQUIRE(back.is_ok());
  REQUIRE(*back == m);
  return std::move(back).value();
}

template <typename T>
T ok(Result<T> r) {
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

inline void require_ok(const Status& s) {
  INFO(s.to_string());
  REQUIRE(s.is_ok());
}

// Checks `s` is refused with `code`; its message must name the reason.
inline void require_refused(const Status& s, Code code, std::string_view mentions = {}) {
  INFO(s.to_string());
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.code() == code);
  if (!mentions.empty()) CHECK(s.message().find(mentions) != std::string::npos);
}

struct Scenario {
  std::size_t agents = 20;
  std::size_t dim = 2000;
  std::uint8_t seed = 1;
  std::set<AgentId> drop_before_shares;  // advertise, then never upload shares
  std::set<AgentId> drop_before_masked;  // upload shares, then never a masked input
  std::set<AgentId> silent_in_unmask;    // mask, then never answer the unmask request
  bool snapshots = false;                // snapshot + restore after every call
};

class Harness {
 public:
  explicit Harness(Scenario sc) : sc_(std::move(sc)), random_(secagg_test::test_random(sc_.seed)) {
    server_.emplace(ok(ServerRound::create(ServerRoundConfig{session_, sc_.dim, kClip, 3, 0})));
    std::mt19937 rng(sc_.seed);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::uniform_int_distribution<std::uint64_t> samples(10, 1000);
    for (AgentId id = 1; id <= sc_.agents; ++id) {
      clients_.emplace(id, ok(ClientRound::create(session_, id, samples(rng), random_)));
      std::vector<float> x(sc_.dim);
      for (float& v : x) v = value(rng);
      updates_[id] = std::move(x);
    }
  }

  ServerRound& server() { return *server_; }
  ClientRound& client(AgentId id) { return clients_.at(id); }
  const RandomSource& random() const { return random_; }
  const std::string& session() const { return session_; }
  const std::vector<float>& update(AgentId id) const { return updates_.at(id); }
  std::vector<AgentId> ids() const {
    std::vector<AgentId> v;
    for (const auto& [id, unused] : clients_) v.push_back(id);
    return v;
  }
  // The masked inputs the server was given, by agent.
  const std::map<AgentId, MaskedInput>& masked_inputs() const { return masked_; }

  void snapshot_server() {
    if (!sc_.snapshots) return;
    const std::vector<std::uint8_t> bytes = server_->snapshot();
    ServerRound restored = ok(ServerRound::restore(bytes));
    REQUIRE(restored.snapshot() == bytes);
    server_.emplace(std::move(restored));
  }
  void snapshot_client(AgentId id) {
    if (!sc_.snapshots) return;
    const std::vector<std::uint8_t> bytes = client(id).snapshot();
    ClientRound restored = ok(ClientRound::restore(bytes));
    REQUIRE(restored.snapshot() == bytes);
    clients_.at(id) = std::move(restored);
  }

  void advertise() {
    for (auto& [id, c] : clients_) {
      require_ok(server_->on_advertise(hop(c.advertise())));
      snapshot_server();
    }
  }
  Status close_advertise() {
    const Status s = server_->close_advertise(ok(random_key(random_)));
    snapshot_server();
    return s;
  }
  void share() {
    for (AgentId id : server_->advertised()) {
      const RoundSetup setup = hop(ok(server_->setup_for(id)));
      if (sc_.drop_before_shares.contains(id)) continue;
      const ShareUpload up = hop(ok(client(id).on_setup(setup, random_)));
      snapshot_client(id);
      require_ok(server_->on_share_upload(up));
      snapshot_server();
    }
  }
  Status close_shares() {
    const Status s = server_->close_shares();
    snapshot_server();
    return s;
  }
  void mask() {
    const std::vector<AgentId> u2 = server_->share_senders();  // a copy: restores replace the server
    for (AgentId id : u2) {
      const ShareDelivery d = hop(ok(server_->delivery_for(id)));
      if (sc_.drop_before_masked.contains(id)) continue;
      const MaskedInput m = hop(ok(client(id).on_delivery(d, updates_.at(id), ok(client(id).quantizer()))));
      snapshot_client(id);
      require_ok(server_->on_masked_input(m));
      snapshot_server();
      masked_[id] = m;
    }
  }
  Status close_masked() {
    const Status s = server_->close_masked();
    snapshot_server();
    return s;
  }
  void unmask() {
    const std::vector<AgentId> u3 = server_->masked_senders();
    for (AgentId id : u3) {
      const UnmaskRequest r = hop(ok(server_->unmask_request_for(id)));
      if (sc_.silent_in_unmask.contains(id)) continue;
      const UnmaskResponse resp = hop(ok(client(id).on_unmask(r)));
      snapshot_client(id);
      require_ok(server_->on_unmask_response(resp));
      snapshot_server();
    }
  }
  Result<AggregateResult> finish() {
    auto r = server_->finish();
    snapshot_server();
    return r;
  }

  // Every step; the first refusal of a close or of finish() is returned.
  Result<AggregateResult> run() {
    advertise();
    EDGEFED_RETURN_IF_ERROR(close_advertise());
    share();
    EDGEFED_RETURN_IF_ERROR(close_shares());
    mask();
    EDGEFED_RETURN_IF_ERROR(close_masked());
    unmask();
    return finish();
  }

  // The plain num_samples-weighted mean over `survivors`, in double.
  std::vector<double> plain_mean(const std::vector<AgentId>& survivors) const {
    std::vector<double> mean(sc_.dim, 0.0);
    double total = 0;
    for (AgentId id : survivors) {
      const double n = static_cast<double>(clients_.at(id).advertise().num_samples);
      total += n;
      for (std::size_t i = 0; i < sc_.dim; ++i) mean[i] += n * updates_.at(id)[i];
    }
    for (double& v : mean) v /= total;
    return mean;
  }

  // The result is the plain weighted mean of U3, within the quantizer's
  // bound: |U3| * step / 2 on the weighted sum, times sum_U1 n / sum_U3 n.
  void check_result(const AggregateResult& r, std::size_t expected_survivors) {
    REQUIRE(r.survivors == server_->masked_senders());
    REQUIRE(r.survivors.size() == expected_survivors);
    double n1 = 0, n3 = 0;
    for (const auto& [id, c] : clients_) n1 += static_cast<double>(c.advertise().num_samples);
    for (AgentId id : r.survivors) n3 += static_cast<double>(clients_.at(id).advertise().num_samples);
    REQUIRE(static_cast<double>(r.survivor_samples) == n3);
    const Quantizer q = ok(Quantizer::create(sc_.agents, kClip));
    const double bound = q.error_bound(r.survivors.size()) * n1 / n3;
    const std::vector<double> plain = plain_mean(r.survivors);
    REQUIRE(r.mean.size() == plain.size());
    double worst = 0;
    std::size_t over = 0;
    for (std::size_t i = 0; i < plain.size(); ++i) {
      const double err = std::abs(r.mean[i] - plain[i]);
      worst = std::max(worst, err);
      // Plus two float roundings (the dequantized sum and the mean).
      if (err > bound + (std::abs(plain[i]) + bound) * 0x1p-23) ++over;
    }
    INFO("worst error " << worst << ", bound " << bound);
    REQUIRE(over == 0);
    CHECK(worst > 0);
  }

 private:
  Scenario sc_;
  std::string session_ = "round-7";
  RandomSource random_;
  std::optional<ServerRound> server_;
  std::map<AgentId, ClientRound> clients_;
  std::map<AgentId, std::vector<float>> updates_;
  std::map<AgentId, MaskedInput> masked_;
};

// The agents of `ids` picked by a seeded shuffle.
inline std::vector<AgentId> pick(const std::vector<AgentId>& ids, std::size_t count, unsigned seed) {
  std::vector<AgentId> shuffled = ids;
  std::mt19937 rng(seed);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  shuffled.resize(count);
  return shuffled;
}

}  // namespace secagg_protocol_test
