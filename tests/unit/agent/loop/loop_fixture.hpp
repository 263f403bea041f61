// Shared pieces of the loop tests: a small synthetic data set, a fake
// server, and an AgentConfig pointing at a scratch state dir.
#pragma once

#include <chrono>
#include <functional>
#include <random>
#include <thread>

#include "agent/loop/agent_loop.hpp"
#include "fake_server.hpp"
#include "scratch_dir.hpp"

namespace edgefed::agent::testing {

// 64 samples of 4 features in 3 linearly separable-ish classes.
inline ml::LocalData small_data(uint32_t seed = 1) {
  auto store = std::make_shared<ml::DataStore>();
  store->features.resize(64, 4);
  store->labels.resize(64);
  store->num_classes = 3;
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 0.3f);
  for (int i = 0; i < 64; ++i) {
    const int y = i % 3;
    store->labels[i] = y;
    for (int j = 0; j < 4; ++j) store->features(i, j) = (j == y ? 1.f : 0.f) + noise(rng);
  }
  std::vector<uint32_t> train(56), val(8);
  for (uint32_t i = 0; i < 56; ++i) train[i] = i;
  for (uint32_t i = 0; i < 8; ++i) val[i] = 56 + i;
  std::shared_ptr<const ml::DataStore> shared = store;
  ml::LocalData local;
  local.train = ml::Dataset(shared, train);
  local.validation = ml::Dataset(shared, val);
  return local;
}

inline void init_server(FakeServerState& s) {
  s.model = init_mlp(*ModelLayout::mlp("4-8-3"), 3);
}

inline AgentConfig small_config(const std::string& state_dir) {
  AgentConfig c;
  c.agent_id = "agent-1";
  c.state_dir = state_dir;
  c.link.server_url = "https://127.0.0.1:1";
  c.link.backoff = {.initial_ms = 10, .max_ms = 40, .multiplier = 2.0, .jitter = 0.0, .seed = 1};
  c.outbox_full_sync = false;
  c.telemetry_interval_ms = 50;
  c.min_round_interval_ms = 10;
  c.idle_ms = 10;
  c.model_wait_s = 0;
  c.once_timeout_ms = 10000;
  return c;
}

inline AgentSeams small_seams(FakeServerState& s) {
  AgentSeams seams;
  seams.transport = std::make_unique<FakeServerTransport>(s);
  seams.data = small_data();
  return seams;
}

// Polls `done` every 5 ms for up to `timeout`; true if it became true.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

}  // namespace edgefed::agent::testing
