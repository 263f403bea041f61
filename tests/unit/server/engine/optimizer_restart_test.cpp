// An adaptive server optimizer's moments are stored with each version
// (versions.optimizer_state) and restored at start: a server stopped (or
// killed) after version 2 and restarted must merge version 3 into exactly
// the parameters that a server running without the restart produces.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "engine_test_support.hpp"
#include "server/aggregation/server_optimizer.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

EngineOptions adaptive_options(const std::string& dir, const std::string& optimizer) {
  auto o = small_options(dir, std::make_shared<FakeClock>());
  o.mode = edgefed::MergeMode::kSync;
  o.min_updates = 2;
  o.server_optimizer = *edgefed::parse_enum<server::ServerOptimizerKind>(optimizer);
  o.server_lr = 0.1;
  return o;
}

// Round r's two updates: different per coordinate and per round, so the
// first and second moments differ from any fresh state.
std::vector<float> delta(int round, int agent) {
  auto d = filled(0.0f);
  for (size_t i = 0; i < d.size(); ++i) {
    const float sign = (i + static_cast<size_t>(round)) % 2 == 0 ? 1.0f : -1.0f;
    d[i] = sign * 0.01f * static_cast<float>((i + 1) * (round + 1) + 3 * agent);
  }
  return d;
}

// Submits round r (base version r) from two agents: one sync version.
bool play_round(Engine& e, int r) {
  for (int a = 0; a < 2; ++a) {
    const std::string agent = "agent-" + std::to_string(a);
    auto ack = e.submit_update(agent, as_span(make_update(agent, "r" + std::to_string(r), r, 10, 0.5, delta(r, a))));
    if (!ack.is_ok()) return false;
  }
  return e.current_model().version == r + 1;
}

}  // namespace

TEST_CASE("adaptive server optimizer state survives a restart exactly", "[unit][engine][optimizer]") {
  const std::string optimizer = GENERATE(as<std::string>{}, "fedadam", "fedyogi", "fedadagrad", "fedavgm");
  INFO(optimizer);

  // Reference: one engine, three versions without a restart.
  TempDir continuous_dir;
  std::vector<float> v2, v3;
  {
    auto e = Engine::open(adaptive_options(continuous_dir.path(), optimizer), nullptr);
    REQUIRE(e.is_ok());
    REQUIRE(play_round(**e, 0));
    REQUIRE(play_round(**e, 1));
    v2 = params_of((*e)->current_model());
    REQUIRE(play_round(**e, 2));
    v3 = params_of((*e)->current_model());
    (*e)->shutdown();
  }

  TempDir dir;
  SECTION("clean stop after version 2") {
    auto e = Engine::open(adaptive_options(dir.path(), optimizer), nullptr);
    REQUIRE(e.is_ok());
    REQUIRE(play_round(**e, 0));
    REQUIRE(play_round(**e, 1));
    (*e)->shutdown();
  }
  SECTION("killed after version 2 (no shutdown, no destructors)") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      auto e = Engine::open(adaptive_options(dir.path(), optimizer), nullptr);
      const bool ok = e.is_ok() && play_round(**e, 0) && play_round(**e, 1);
      ::_exit(ok ? 0 : 1);
    }
    int wstatus = 0;
    REQUIRE(::waitpid(child, &wstatus, 0) == child);
    REQUIRE(WIFEXITED(wstatus));
    REQUIRE(WEXITSTATUS(wstatus) == 0);
  }

  auto e = Engine::open(adaptive_options(dir.path(), optimizer), nullptr);
  REQUIRE(e.is_ok());
  REQUIRE((*e)->current_model().version == 2);
  CHECK(params_of((*e)->current_model()) == v2);
  REQUIRE(play_round(**e, 2));
  const auto restarted = params_of((*e)->current_model());
  // Bit for bit: the moments are stored as the floats they were.
  CHECK(restarted == v3);

  // The check has teeth: a fresh optimizer (state lost at the restart)
  // would have taken another step from v2.
  server::ServerOptimizerOptions so;
  so.kind = *edgefed::parse_enum<server::ServerOptimizerKind>(optimizer);
  so.lr = 0.1;
  auto fresh = server::make_server_optimizer(so);
  REQUIRE(fresh.is_ok());
  auto lost = v2;
  std::vector<float> mean(v2.size());
  const auto d0 = delta(2, 0), d1 = delta(2, 1);
  for (size_t i = 0; i < mean.size(); ++i) mean[i] = (d0[i] + d1[i]) / 2;
  (*fresh)->apply(lost, mean);
  double largest = 0;
  for (size_t i = 0; i < lost.size(); ++i) largest = std::max(largest, std::fabs(double(lost[i]) - v3[i]));
  CHECK(largest > 1e-3);
  (*e)->shutdown();
}
