// The cross-built agent (arm64 or armhf, run under qemu-user) against the
// x86-64 server: TLS 1.3 with client certificates, rounds merged, SIGKILL
// and restart with nothing lost or doubled, and its update for a fixed seed
// and data slice against the x86-64 agent's. Registered when the build is
// given EDGEFED_CROSS_AGENT (tests/integration/agent/CMakeLists.txt).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "agent_rig.hpp"

using namespace edgefed::testing;

namespace {

const std::string kCrossAgent = EDGEFED_CROSS_AGENT;
const std::string kCrossArch = EDGEFED_CROSS_AGENT_ARCH;

// Largest element-wise difference, relative to the largest magnitude of `a`.
double relative_max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::abs(double(a[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

}  // namespace

TEST_CASE("cross-built agent under qemu trains rounds with the x86-64 server, SIGKILLed and restarted "
          "it loses and doubles nothing",
          "[integration][cross]") {
  AgentRig rig;  // mlp:4-8-3, FedBuff with K = 2
  const int a = 3, b = 4;
  const std::vector<std::string> fast = {"--round-interval-ms", "50", "--telemetry-interval-ms", "100"};
  AgentProcess steady(rig.agent_args(b, fast, 0, kCrossAgent), rig.dir.file("agent-b.log"));
  steady.start();
  std::mt19937 rng(5);
  int kills = 0;
  for (int cycle = 0; cycle < 3; ++cycle) {
    AgentProcess killed(rig.agent_args(a, fast, 0, kCrossAgent), rig.dir.file("agent-a.log"));
    killed.start();
    // Killed once it is mid-work: its journal has an update, then a random
    // moment later (qemu starts slower than a native process).
    const int64_t before = read_agent_journal(rig.agent_state(a)).updates_created;
    REQUIRE(eventually([&] { return read_agent_journal(rig.agent_state(a)).updates_created > before; },
                       std::chrono::seconds(60)));
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    INFO(killed.log());
    REQUIRE(killed.running());
    killed.kill9();
    ++kills;
  }
  REQUIRE(steady.terminate() == 0);
  // Last runs forward whatever the kills left queued.
  for (int i : {a, b}) {
    AgentProcess last(rig.agent_args(i, {"--once"}, 0, kCrossAgent), rig.dir.file("agent-last.log"));
    last.start();
    const int rc = last.wait(std::chrono::seconds(120));
    INFO(last.log());
    REQUIRE(rc == 0);
  }
  REQUIRE(rig.server.terminate() == 0);

  const int64_t versions = newest_version(rig.server_state());
  int64_t acked = 0;
  for (int i : {a, b}) {
    const AgentJournal j = read_agent_journal(rig.agent_state(i));
    const ServerRecords s = read_server_records(rig.server_state(), Pki::agent_id(i));
    const Reconciliation r = reconcile(j, s);
    std::cout << kCrossArch << " agent " << Pki::agent_id(i) << ": " << j.updates_acked << " updates and "
              << j.telemetry_acked << " telemetry records acknowledged; " << r.describe() << "\n";
    acked += j.updates_acked;
    CHECK(j.updates_acked > 0);
    CHECK(j.pending_updates == 0);
    CHECK(j.pending_telemetry == 0);
    CHECK(s.update_ids == j.acked_update_ids);
    CHECK(r.updates_lost == 0);
    CHECK(r.updates_double_counted == 0);
    CHECK(r.telemetry_lost == 0);
    CHECK(r.telemetry_double_counted == 0);
  }
  std::cout << kCrossArch << ": " << kills << " SIGKILLs, " << acked << " updates merged into " << versions - 1
            << " versions\n";
  CHECK(versions >= 3);  // K = 2: merges happened
}

TEST_CASE("cross-built agent's update for a fixed seed and data slice agrees with the x86-64 agent's",
          "[integration][cross]") {
  const std::string fmnist = "/usr/share/datasets/fashion-mnist";
  REQUIRE(std::filesystem::exists(fmnist + "/train-images-idx3-ubyte.gz"));
  // K = 4: the three updates of version 1 stay unmerged in the ledger.
  AgentRig rig({"--buffer-k", "4", "--model-init", "mlp:784-128-10"});
  const std::vector<std::string> same = {"--once", "--seed", "7", "--data",
                                         "idx:" + fmnist + ":3/100:dirichlet:0.5:seed=7"};
  AgentProcess native1(rig.agent_args(5, same), rig.dir.file("native1.log"));
  AgentProcess native2(rig.agent_args(6, same), rig.dir.file("native2.log"));
  AgentProcess cross(rig.agent_args(7, same, 0, kCrossAgent), rig.dir.file("cross.log"));
  for (AgentProcess* p : {&native1, &native2, &cross}) p->start();
  for (AgentProcess* p : {&native1, &native2, &cross}) {
    const int rc = p->wait(std::chrono::seconds(240));
    INFO(p->log());
    REQUIRE(rc == 0);
  }
  REQUIRE(rig.server.terminate() == 0);
  const auto deltas = unmerged_update_deltas(rig.server_state());
  REQUIRE(deltas.size() == 3);
  const auto& x1 = deltas.at(Pki::agent_id(5));
  const auto& x2 = deltas.at(Pki::agent_id(6));
  const auto& arm = deltas.at(Pki::agent_id(7));
  REQUIRE(x1.size() == arm.size());
  // Control: the same seed and slice give the same update bit for bit on one
  // machine, so any difference below is the architecture's arithmetic.
  CHECK(x1 == x2);
  CHECK(std::any_of(x1.begin(), x1.end(), [](float v) { return v != 0; }));
  const double rel = relative_max_difference(x1, arm);
  size_t differing = 0;
  for (size_t i = 0; i < x1.size(); ++i) differing += x1[i] != arm[i] ? 1 : 0;
  std::cout << kCrossArch << " vs x86-64 update (784-128-10, 600 images, one local round): max |difference| / "
            << "max |delta| = " << rel << ", " << differing << " of " << x1.size() << " values differ\n";
  // FMA (NEON's vfmaq; the x86 AVX2 path fuses too, its x86-64-v2 path does
  // not) and vector width change the rounding of every dot product; over
  // one epoch of SGD with momentum that stays near 1e-6 of the update's
  // scale (docs/cross-build.md). 1e-4 leaves room and still catches a
  // wrong kernel, which is off by the update's own size.
  CHECK(rel < 1e-4);
}
