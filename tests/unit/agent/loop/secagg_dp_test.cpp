// Distributed DP under secure aggregation, measured: real SecAggDrivers
// (each with its own SQLite outbox and Link) run a SecAgg+ session against
// the server's real SecAggCoordinator behind the Transport seam, with the
// task's clip norm C and noise multiplier z. Each agent clips its delta and
// adds N(0, (zC)^2 / t) per coordinate before masking; the unmasked sum
// minus the sum of the clipped deltas is the noise the server's model gets.
// Its variance over thousands of coordinates must be survivors / t times
// the central mechanism's (zC)^2, so never below it: the session completes
// only with more than t survivors. The second case cuts agents' links after
// key exchange and after the share upload down to the fewest survivors a
// session finishes with (t + 1 on the complete graph), the worst case.
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/link/link.hpp"
#include "agent/loop/secagg_driver.hpp"
#include "agent/outbox/outbox.hpp"
#include "edgefed/clock.hpp"
#include "edgefed/secagg/agent_id.hpp"
#include "edgefed/secagg/random_source.hpp"
#include "scratch_dir.hpp"
#include "server/secagg/secagg_coordinator.hpp"

namespace edgefed::agent::secagg_dp_test {

using nlohmann::json;
using server::SecAggCoordinator;

constexpr uint64_t kLength = 4000;
constexpr int64_t kVersion = 7;
const std::string kSession = "v7-dp";

struct MapSink : server::SecAggSnapshotSink {
  Status save(const std::string&, std::span<const uint8_t>) override { return Status::ok(); }
  Status erase(const std::string&) override { return Status::ok(); }
};

HttpResponse answer(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

// One agent's view of the server: /v1/secagg/* answered by the coordinator
// for `name`. After the coordinator hands it a message of type `cut_at`,
// the link is cut for good (every request fails as a refused connection).
class CoordinatorTransport final : public Transport {
 public:
  CoordinatorTransport(SecAggCoordinator& c, std::string name, int* posts, std::string cut_at)
      : c_(c), name_(std::move(name)), posts_(posts), cut_at_(std::move(cut_at)) {}

  Result<HttpResponse> request(std::string_view method, std::string_view target, std::string_view body,
                               std::string_view, const HttpHeaders&, std::chrono::milliseconds) override {
    if (cut_) return Status(Code::kUnavailable, "connection refused");
    if (method == "POST" && target == "/v1/secagg/join") {
      return answer(200, {{"session", kSession},
                          {"base_version", kVersion},
                          {"cohort_size", 11},
                          {"vector_length", kLength},
                          {"clip", 1.0},
                          {"phase_timeout_s", 30}});
    }
    if (method == "POST" && target == "/v1/secagg/message") {
      const Status s = c_.post(name_, json::parse(body));
      if (!s.is_ok()) return answer(http_status_for(s.code()), json::parse(error_body(s)));
      ++*posts_;
      return answer(202, {{"accepted", true}});
    }
    if (method == "GET" && target == "/v1/secagg/next?session=" + kSession) {
      auto next = c_.next(name_, kSession);
      if (!next) return answer(http_status_for(next.status().code()), json::parse(error_body(next.status())));
      if (!cut_at_.empty() && (*next)["type"] == cut_at_) {
        cut_ = true;
        return Status(Code::kUnavailable, "connection reset");
      }
      return answer(200, *next);
    }
    return answer(404, {{"error", "not found"}});
  }
  void close() override {}

 private:
  SecAggCoordinator& c_;
  std::string name_;
  int* posts_;
  std::string cut_at_;
  bool cut_ = false;
};

struct DpAgent {
  std::string name;
  std::vector<float> clipped;  // what the agent should mask before its noise
  std::unique_ptr<Outbox> outbox;
  std::unique_ptr<Link> link;
  std::unique_ptr<SecAggDriver> driver;
  std::string outcome;  // how its round ended ("" = still running)
};

struct DpRun {
  std::vector<double> noise;  // unmasked sum - sum of the survivors' clipped deltas
  size_t survivors = 0;
  uint64_t threshold = 0;
  std::vector<std::string> outcomes;
};

// `cuts[i]`: the server message type after which agent i's link is cut ("" = never).
DpRun run_session(const std::vector<std::string>& cuts, double clip_norm, double z) {
  edgefed::testing::ScratchDir dir;
  FakeClock clock;
  MapSink sink;
  server::SecAggOptions options;
  options.degree = cuts.size() - 1;  // the complete graph (n odd: the degree is even), t = (n - 1) / 2 + 1
  SecAggCoordinator c(options, clock, sink, secagg::system_random());
  const Status opened = c.open(kSession, kLength, cuts.size());
  INFO(opened.to_string());
  REQUIRE(opened.is_ok());
  int posts = 0;
  std::mt19937 rng(20261206);
  std::normal_distribution<float> coordinate(0.f, 0.05f);  // a norm of about 3.2: clipped to clip_norm
  std::vector<DpAgent> agents;
  for (size_t i = 0; i < cuts.size(); ++i) {
    DpAgent a;
    a.name = "agent-" + std::to_string(i);
    RoundResult trained;
    trained.delta.resize(kLength);
    for (float& x : trained.delta) x = coordinate(rng);
    trained.num_samples = 50 + static_cast<int64_t>(i);
    double norm2 = 0;
    for (float x : trained.delta) norm2 += double(x) * x;
    REQUIRE(std::sqrt(norm2) > 2 * clip_norm);
    a.clipped = trained.delta;
    for (float& x : a.clipped) x = static_cast<float>(x * (clip_norm / std::sqrt(norm2)));
    OutboxOptions oo;
    oo.path = dir.file(a.name + ".db");
    oo.full_sync = false;
    auto outbox = Outbox::open(oo);
    REQUIRE(outbox);
    a.outbox = std::move(*outbox);
    LinkOptions lo;
    lo.server_url = "https://127.0.0.1:1";
    lo.agent_id = a.name;
    a.link = Link::create(lo, std::make_unique<CoordinatorTransport>(c, a.name, &posts, cuts[i]), clock);
    a.driver = std::make_unique<SecAggDriver>(*a.outbox, *a.link, clock, a.name);
    REQUIRE(a.driver->load().is_ok());
    const SecAggJoin joined = a.driver->join(kVersion, kLength);
    REQUIRE(joined.kind == SecAggJoin::Kind::kJoined);
    auto started = a.driver->start(joined.session, kVersion, trained, {clip_norm, z});
    REQUIRE(started);
    REQUIRE(*started);
    agents.push_back(std::move(a));
  }
  // Every agent polls once per pass; a pass nobody posted in lets the
  // phase's deadline pass (the cut agents never answer).
  std::vector<SecAggCoordinator::Finished> finished;
  for (int pass = 0; pass < 40 && finished.empty(); ++pass) {
    const int before = posts;
    for (auto& a : agents) REQUIRE(a.driver->step());
    finished = c.tick();
    if (finished.empty() && posts == before) {
      clock.advance_s(31);
      finished = c.tick();
    }
  }
  REQUIRE(finished.size() == 1);
  INFO(finished[0].result.status().to_string());
  REQUIRE(finished[0].result);
  const secagg::AggregateResult& r = *finished[0].result;
  REQUIRE(r.mean.size() == kLength);
  // The survivors hear "done" and drop their rounds.
  for (int pass = 0; pass < 4; ++pass) {
    for (auto& a : agents) {
      auto step = a.driver->step();
      REQUIRE(step);
      if (step->ended) a.outcome = step->outcome;
    }
  }
  DpRun out;
  out.survivors = r.survivors.size();
  // DP weighs agents alike: every agent advertised 1 sample.
  CHECK(r.survivor_samples == r.survivors.size());
  out.noise.assign(kLength, 0.0);
  for (size_t k = 0; k < kLength; ++k) out.noise[k] = double(r.mean[k]) * double(out.survivors);
  for (auto& a : agents) {
    out.outcomes.push_back(a.outcome);
    const bool survived =
        std::find(r.survivors.begin(), r.survivors.end(), secagg::agent_id_of(a.name)) != r.survivors.end();
    if (!survived) continue;
    for (size_t k = 0; k < kLength; ++k) out.noise[k] -= a.clipped[k];
  }
  // t as the session set it up: (degree / 2) + 1 on the complete graph.
  out.threshold = (cuts.size() - 1) / 2 + 1;
  return out;
}

double variance(const std::vector<double>& x) {
  double mean = 0;
  for (double v : x) mean += v;
  mean /= double(x.size());
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  return ss / double(x.size() - 1);
}

double average(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / double(x.size());
}

TEST_CASE("secure aggregation DP: every survivor's noise share reaches the sum, (survivors / t) (zC)^2", "[unit]") {
  const double clip_norm = 0.5, z = 1.2, sigma = z * clip_norm;
  const DpRun run = run_session(std::vector<std::string>(11, ""), clip_norm, z);
  REQUIRE(run.survivors == 11);
  CHECK(run.threshold == 6);
  const double var = variance(run.noise);
  const double expected = double(run.survivors) / double(run.threshold) * sigma * sigma;
  INFO("noise variance " << var << ", expected " << expected << ", central " << sigma * sigma);
  // 4000 coordinates: the estimate's relative standard error is ~2.2 %.
  CHECK(var == Approx(expected).epsilon(0.12));
  CHECK(var > sigma * sigma);
  // Unbiased: the noise's mean is within 5 standard errors of 0.
  CHECK(std::abs(average(run.noise)) < 5 * std::sqrt(var / double(kLength)));
  for (const std::string& o : run.outcomes) CHECK(o == "done");
}

TEST_CASE("secure aggregation DP: with the fewest survivors a session allows the sum still carries (zC)^2", "[unit]") {
  const double clip_norm = 1.0, z = 0.8, sigma = z * clip_norm;
  // 11 agents, t = 6: three links cut after the key exchange (no shares),
  // one more after the share upload (no masked input): 7 masked inputs
  // remain, the fewest a session finishes with (each survivor's self-mask
  // seed is rebuilt from t shares held by the other survivors).
  std::vector<std::string> cuts(11, "");
  for (int i = 8; i < 11; ++i) cuts[i] = "round_setup";
  cuts[7] = "share_delivery";
  const DpRun run = run_session(cuts, clip_norm, z);
  REQUIRE(run.survivors == run.threshold + 1);
  const double var = variance(run.noise);
  const double expected = double(run.survivors) / double(run.threshold) * sigma * sigma;
  INFO("noise variance " << var << ", expected " << expected << ", central " << sigma * sigma);
  CHECK(var == Approx(expected).epsilon(0.12));
  CHECK(var > sigma * sigma);
  CHECK(std::abs(average(run.noise)) < 5 * std::sqrt(var / double(kLength)));
  for (int i = 0; i < 7; ++i) CHECK(run.outcomes[i] == "done");
  for (int i = 7; i < 11; ++i) CHECK(run.outcomes[i] != "done");
}

}  // namespace edgefed::agent::secagg_dp_test
