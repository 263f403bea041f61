// The SecAgg+ protocol end to end through its two state machines: 20
// agents, messages through JSON at every hop, dropouts in each phase,
// snapshot/restore at every call, and what the server gets to see.
#include <catch2/catch.hpp>

#include <cmath>

#include "secagg_protocol_harness.hpp"

using namespace secagg_protocol_test;

TEST_CASE("secagg protocol: 20 agents give the num_samples-weighted mean", "[unit][secagg][protocol]") {
  Harness h(Scenario{});
  const AggregateResult r = ok(h.run());
  CHECK(h.server().phase() == ServerPhase::kDone);
  CHECK(h.server().degree() == 14);
  CHECK(h.server().threshold() == 8);
  h.check_result(r, 20);
  // Done is done: finish() and result() give the same answer again.
  CHECK(ok(h.server().finish()).mean == r.mean);
  CHECK(ok(h.server().result()).mean == r.mean);
  for (AgentId id : h.ids()) CHECK(h.client(id).phase() == ClientPhase::kDone);
}

TEST_CASE("secagg protocol: 30% drop before sending shares", "[unit][secagg][protocol]") {
  Scenario sc;
  sc.seed = 2;
  const auto dropped = pick(Harness(sc).ids(), 6, 2);
  sc.drop_before_shares = {dropped.begin(), dropped.end()};
  Harness h(sc);
  const AggregateResult r = ok(h.run());
  CHECK(h.server().share_senders().size() == 14);
  h.check_result(r, 14);
}

TEST_CASE("secagg protocol: 30% drop after sending shares", "[unit][secagg][protocol]") {
  Scenario sc;
  sc.seed = 3;
  const auto dropped = pick(Harness(sc).ids(), 6, 3);
  sc.drop_before_masked = {dropped.begin(), dropped.end()};
  Harness h(sc);
  const AggregateResult r = ok(h.run());
  CHECK(h.server().share_senders().size() == 20);
  h.check_result(r, 14);
}

TEST_CASE("secagg protocol: 30% drop after the masked upload", "[unit][secagg][protocol]") {
  // They never answer the unmask request; their vectors still count.
  Scenario sc;
  sc.seed = 11;
  const auto silent = pick(Harness(sc).ids(), 6, 11);
  sc.silent_in_unmask = {silent.begin(), silent.end()};
  Harness h(sc);
  h.check_result(ok(h.run()), 20);
}

TEST_CASE("secagg protocol: dropouts before and after the shares at once", "[unit][secagg][protocol]") {
  // 30% in all: 3 before the shares, 3 after them. (30% before AND 30%
  // after leaves 8 of 20, and no survivor can keep t = 8 of its 14
  // neighbours among 8 agents: that is the abort case below.)
  Scenario sc;
  sc.seed = 4;
  const auto six = pick(Harness(sc).ids(), 6, 4);
  sc.drop_before_shares = {six.begin(), six.begin() + 3};
  sc.drop_before_masked = {six.begin() + 3, six.end()};
  Harness h(sc);
  const AggregateResult r = ok(h.run());
  CHECK(h.server().share_senders().size() == 17);
  h.check_result(r, 14);
}

TEST_CASE("secagg protocol: too many dropouts abort with a clear error", "[unit][secagg][protocol]") {
  SECTION("30% before the shares and 30% after them") {
    Scenario sc;
    sc.seed = 5;
    const auto twelve = pick(Harness(sc).ids(), 12, 5);
    sc.drop_before_shares = {twelve.begin(), twelve.begin() + 6};
    sc.drop_before_masked = {twelve.begin() + 6, twelve.end()};
    Harness h(sc);
    h.advertise();
    require_ok(h.close_advertise());
    h.share();
    require_ok(h.close_shares());
    h.mask();
    const Status s = h.close_masked();
    require_refused(s, Code::kUnprocessable, "too many dropouts");
    CHECK(s.message().find("fewer than t = 8 shares") != std::string::npos);
    CHECK(h.server().phase() == ServerPhase::kAborted);
    // Every later call says why.
    require_refused(h.server().unmask_request_for(h.server().masked_senders().front()).status(), Code::kConflict,
                    "too many dropouts");
    require_refused(h.server().finish().status(), Code::kConflict, "aborted");
    // The abort survives a restart.
    ServerRound restored = ok(ServerRound::restore(h.server().snapshot()));
    CHECK(restored.phase() == ServerPhase::kAborted);
    CHECK(restored.abort_status().message() == h.server().abort_status().message());
  }
  SECTION("survivors that do not answer the unmask request") {
    Scenario sc;
    sc.seed = 6;
    const auto silent = pick(Harness(sc).ids(), 13, 6);
    sc.silent_in_unmask = {silent.begin(), silent.end()};
    Harness h(sc);
    h.advertise();
    require_ok(h.close_advertise());
    h.share();
    require_ok(h.close_shares());
    h.mask();
    require_ok(h.close_masked());
    h.unmask();
    CHECK_FALSE(h.server().ready_to_finish());
    const auto r = h.finish();
    require_refused(r.status(), Code::kUnprocessable, "cannot reconstruct");
    CHECK(h.server().phase() == ServerPhase::kAborted);
  }
  SECTION("fewer than the minimum advertise") {
    Scenario sc;
    sc.agents = 2;
    Harness h(sc);
    h.advertise();
    require_refused(h.close_advertise(), Code::kUnprocessable, "fewer than the minimum 3");
  }
  SECTION("fewer than t send shares") {
    Scenario sc;
    sc.seed = 7;
    const auto gone = pick(Harness(sc).ids(), 13, 7);
    sc.drop_before_shares = {gone.begin(), gone.end()};
    Harness h(sc);
    h.advertise();
    require_ok(h.close_advertise());
    h.share();
    require_refused(h.close_shares(), Code::kUnprocessable, "fewer than the threshold t = 8");
  }
}

TEST_CASE("secagg protocol: snapshot and restore at every call give the same result", "[unit][secagg][protocol]") {
  Scenario sc;
  sc.seed = 8;
  sc.dim = 500;
  const auto six = pick(Harness(sc).ids(), 6, 8);
  sc.drop_before_shares = {six.begin(), six.begin() + 2};
  sc.drop_before_masked = {six.begin() + 2, six.begin() + 4};
  sc.silent_in_unmask = {six.begin() + 4, six.end()};
  Harness plain(sc);
  const AggregateResult expected = ok(plain.run());
  sc.snapshots = true;
  Harness durable(sc);
  const AggregateResult r = ok(durable.run());
  durable.check_result(r, 16);
  CHECK(r.mean == expected.mean);
  CHECK(r.survivors == expected.survivors);
  CHECK(r.survivor_samples == expected.survivor_samples);
}

namespace {

template <typename Machine>
void check_corruption_refused(const std::vector<std::uint8_t>& good) {
  REQUIRE(Machine::restore(good).is_ok());
  // Every byte flipped, one at a time (the checksum catches each), on a
  // stride so that large snapshots stay fast.
  const std::size_t stride = std::max<std::size_t>(1, good.size() / 300);
  for (std::size_t i = 0; i < good.size(); i += stride) {
    std::vector<std::uint8_t> bad = good;
    bad[i] ^= 0x01;
    const auto r = Machine::restore(bad);
    INFO("byte " << i);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
  for (std::size_t keep : {std::size_t{0}, std::size_t{5}, good.size() / 2, good.size() - 1}) {
    const auto r = Machine::restore(std::span(good).first(keep));
    INFO("truncated to " << keep);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
  std::vector<std::uint8_t> longer = good;
  longer.push_back(0);
  CHECK_FALSE(Machine::restore(longer).is_ok());
}

}  // namespace

TEST_CASE("secagg protocol: a corrupt or foreign snapshot is refused", "[unit][secagg][protocol]") {
  Scenario sc;
  sc.agents = 6;
  sc.dim = 64;
  sc.seed = 9;
  Harness h(sc);
  h.advertise();
  check_corruption_refused<ServerRound>(h.server().snapshot());
  check_corruption_refused<ClientRound>(h.client(1).snapshot());
  require_ok(h.close_advertise());
  h.share();
  require_ok(h.close_shares());
  h.mask();
  check_corruption_refused<ServerRound>(h.server().snapshot());
  check_corruption_refused<ClientRound>(h.client(2).snapshot());
  // One machine's snapshot is not the other's.
  const auto foreign = ClientRound::restore(h.server().snapshot());
  require_refused(foreign.status(), Code::kInvalidArgument, "not a secagg client snapshot");
  CHECK_FALSE(ServerRound::restore(h.client(2).snapshot()).is_ok());
  // The session still completes.
  require_ok(h.close_masked());
  h.unmask();
  h.check_result(ok(h.finish()), 6);
}

TEST_CASE("secagg protocol: the server sees nothing correlated with an update", "[unit][secagg][protocol]") {
  // 4 agents (a complete graph: k = 3, t = 2) over 120k coordinates: the
  // sample correlation of independent vectors then has a standard
  // deviation of about 0.0029, so 0.01 is 3.5 of them.
  Scenario sc;
  sc.agents = 4;
  sc.dim = 120000;
  sc.seed = 10;
  Harness h(sc);
  h.advertise();
  require_ok(h.close_advertise());
  h.share();
  require_ok(h.close_shares());
  const Quantizer q = ok(Quantizer::create(4, kClip));

  auto centered = [](std::uint32_t w) { return static_cast<double>(static_cast<std::int32_t>(w)); };
  auto correlation = [&](const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
    const double n = static_cast<double>(a.size());
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ma += centered(a[i]);
      mb += centered(b[i]);
    }
    ma /= n;
    mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double da = centered(a[i]) - ma, db = centered(b[i]) - mb;
      sab += da * db;
      saa += da * da;
      sbb += db * db;
    }
    return sab / std::sqrt(saa * sbb);
  };

  h.mask();
  REQUIRE(h.masked_inputs().size() == 4);
  for (const auto& [id, m] : h.masked_inputs()) {
    const std::vector<std::uint32_t> quantized = ok(q.quantize(h.update(id), h.client(id).setup()->weight));
    const double r = correlation(quantized, m.values);
    INFO("agent " << id << ": correlation " << r);
    CHECK(std::abs(r) < 0.01);
    // The statistic does see a relation where there is one.
    std::vector<std::uint32_t> nudged = quantized;
    for (std::size_t i = 0; i < nudged.size(); ++i) nudged[i] += static_cast<std::uint32_t>(i % 7) * 1000;
    CHECK(correlation(quantized, nudged) > 0.9);
  }
  // What the server holds (its snapshot is all of its state) has no
  // individual vector in it, masked or not: only the running sum.
  const std::vector<std::uint8_t> state = h.server().snapshot();
  CHECK(state.size() < 4 * sc.dim + 8192);
  require_ok(h.close_masked());
  h.unmask();
  h.check_result(ok(h.finish()), 4);
}
