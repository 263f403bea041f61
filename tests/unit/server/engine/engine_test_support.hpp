// Helpers for the engine tests: small models, encoded updates, waiting for a
// version without sleeping on a fixed schedule.
#pragma once

#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "edgefed/log.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/update_codec.hpp"
#include "server/engine/engine.hpp"
#include "../store/temp_dir.hpp"

namespace edgefed::testing {

using server::Engine;
using server::EngineOptions;
using edgefed::FakeClock;

// mlp:4-2 has 4*2 + 2 = 10 parameters.
inline const char* kSpec = "mlp:4-2";

inline EngineOptions small_options(const std::string& dir, std::shared_ptr<FakeClock> clock) {
  EngineOptions o;
  o.state_dir = dir;
  o.model_init = kSpec;
  o.init_seed = 3;
  o.staleness_fn = server::StalenessKind::kConstant;
  o.server_lr = 1.0;
  o.buffer_timeout_s = 0;
  o.round_timeout_s = 0;
  o.fsync_full = false;
  o.clock = std::move(clock);
  o.timer_tick_ms = 5;
  return o;
}

inline std::span<const uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The layout the engine makes for a preset (with the spec in its fingerprint).
inline ModelLayout layout_of(const std::string& spec = kSpec) { return ml::ModelSpec::preset(spec).value().layout(); }

inline std::string make_update(const std::string& agent, const std::string& update_id, int64_t base,
                               int64_t num_samples, double loss, const std::vector<float>& delta,
                               const std::string& spec = kSpec) {
  UpdateMetadata m;
  m.agent_id = agent;
  m.update_id = update_id;
  m.base_version = base;
  m.num_samples = num_samples;
  m.train_loss = loss;
  return encode_update(layout_of(spec), delta, m).value();
}

inline std::vector<float> filled(float v, const std::string& spec = kSpec) {
  return std::vector<float>(static_cast<size_t>(layout_of(spec).size()), v);
}

inline std::vector<float> params_of(const Engine::ModelSnapshot& s) {
  return decode_model(as_span(*s.bytes)).value().model.params;
}

// Waits (real time, bounded) until the engine serves a version >= v.
inline bool wait_version(Engine& e, int64_t v, double timeout_s = 10) {
  auto p = std::make_shared<std::promise<void>>();
  auto f = p->get_future();
  const uint64_t id = e.on_version_after(v - 1, [p](Engine::ModelSnapshot) { p->set_value(); });
  const bool ok = f.wait_for(std::chrono::duration<double>(timeout_s)) == std::future_status::ready;
  e.cancel(id);
  return ok;
}

}  // namespace edgefed::testing

namespace edgefed::testing {
// Keep test output readable: only warnings and errors from the engine.
inline const bool kQuietLogs = [] {
  log::set_level(log::Level::kWarn);
  return true;
}();
}  // namespace edgefed::testing
