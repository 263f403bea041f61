// Group commit: many concurrent submitters share transactions, every one
// of them gets its ack only after its batch committed, and nothing is lost
// or merged twice.
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include <catch2/catch.hpp>

#include "engine_test_support.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

struct Run {
  double seconds = 0;
  int64_t acked = 0;
  double commits = 0;
  double fsyncs = 0;         // the pipelined group commit's fsyncs
  double fsynced_batches = 0;
  double fsync_failed = 0;
};

double metric_value(const std::string& text, const std::string& name) {
  const auto pos = text.find("\n" + name + " ");
  return pos == std::string::npos ? -1 : std::stod(text.substr(pos + name.size() + 2));
}

// threads x per_thread updates of `spec` from distinct agents, async K = 10.
Run hammer(const std::string& dir, const std::string& spec, int threads, int per_thread, int64_t group_max) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto o = small_options(dir, std::make_shared<FakeClock>());
  o.model_init = spec;
  o.buffer_k = 10;
  o.fsync_full = true;
  o.group_commit_max = group_max;
  auto e = Engine::open(o, registry).value();
  // Bodies are encoded up front: the measurement is decode + durability.
  std::vector<std::vector<std::string>> bodies(threads);
  for (int t = 0; t < threads; ++t) {
    const std::string agent = "agent-" + std::to_string(t);
    for (int i = 0; i < per_thread; ++i) {
      bodies[t].push_back(make_update(agent, std::to_string(i), 0, 10, 0.1, filled(0.001f * (t + 1), spec), spec));
    }
  }
  std::atomic<int64_t> acked{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const std::string agent = "agent-" + std::to_string(t);
      for (const auto& body : bodies[t]) acked += e->submit_update(agent, as_span(body)).is_ok();
    });
  }
  for (auto& th : pool) th.join();
  Run r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.acked = acked;
  const std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  r.commits = metric_value(text, "edgefed_store_commit_jobs_count");
  r.fsyncs = metric_value(text, "edgefed_store_fsync_seconds_count");
  r.fsynced_batches = metric_value(text, "edgefed_store_fsync_batches_sum");
  r.fsync_failed = metric_value(text, "edgefed_store_fsync_failed");
  CHECK(e->status().updates_accepted == threads * per_thread);
  CHECK(e->status().updates_merged == threads * per_thread);
  CHECK(e->current_model().version == threads * per_thread / 10);
  return r;
}

}  // namespace

TEST_CASE("group commit: 16 threads share transactions, all acked, all merged once", "[unit][engine]") {
  TempDir dir;
  const Run r = hammer(dir.path(), kSpec, 16, 25, 256);
  CHECK(r.acked == 400);
  // Each update is one call; with 16 concurrent writers they must share
  // transactions (1 per call would be 400).
  CHECK(r.commits > 0);
  CHECK(r.commits < 400);
  // The pipelined group commit (the default with fsync_full): every
  // transaction was made durable by the fsync thread before its calls were
  // answered, some fsyncs covering several.
  CHECK(r.fsyncs >= 1);
  CHECK(r.fsynced_batches >= r.commits);
  CHECK(r.fsyncs <= r.fsynced_batches);
  CHECK(r.fsync_failed == 0);
}

// Not part of the suite (hidden tag): prints ingest throughput of 400 KB
// (784-128-10, f32) updates with and without group commit.
TEST_CASE("group commit throughput", "[.][perf]") {
  for (int64_t group : {int64_t{1}, int64_t{256}}) {
    TempDir dir;
    const Run r = hammer(dir.path(), "mlp:784-128-10", 16, 20, group);
    const double mb = r.acked * 101770.0 * 4 / 1e6;
    std::cout << "group_commit_max=" << group << ": " << r.acked << " updates in " << r.seconds << " s = "
              << r.acked / r.seconds << " updates/s, " << mb / r.seconds << " MB/s, " << r.commits
              << " transactions\n";
  }
}
