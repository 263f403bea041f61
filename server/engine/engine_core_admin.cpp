// EngineCore: admin calls. Each runs as a job of its own on the writer
// thread, inside one transaction.
#include "edgefed/log.hpp"
#include "edgefed/model_io.hpp"
#include "server/engine/engine_core.hpp"
#include "server/engine/engine_job.hpp"

namespace edgefed::server {

Status EngineCore::run_admin(std::function<Status(VersionKeeper&)> fn) {
  if (!ready_) return Status(Code::kUnavailable, "the engine is not ready");
  Job job;
  job.kind = Job::Kind::kAdmin;
  job.admin = std::move(fn);
  return run(job);
}

Status EngineCore::set_model(std::span<const uint8_t> safetensors) {
  auto decoded = decode_model(safetensors);  // decoding off the writer thread
  if (!decoded.is_ok()) return decoded.status();
  auto model = std::make_shared<Model>(std::move(decoded->model));
  return run_admin([model](VersionKeeper& k) { return k.replace_model(std::move(*model), "set", k.version()); });
}

Status EngineCore::init_model(const std::string& spec, uint64_t seed) {
  auto layout = ModelLayout::mlp(spec);
  if (!layout.is_ok()) return layout.status();
  auto model = std::make_shared<Model>(init_mlp(*layout, seed));
  return run_admin([model](VersionKeeper& k) { return k.replace_model(std::move(*model), "init", k.version()); });
}

Status EngineCore::rollback(int64_t version) {
  return run_admin([version](VersionKeeper& k) -> Status {
    if (version < 0 || version > k.version()) {
      return Status(Code::kNotFound, "no version " + std::to_string(version));
    }
    auto model = k.load_version(version);
    if (!model.is_ok()) return model.status();
    return k.replace_model(std::move(model).value(), "rollback", version);
  });
}

Status EngineCore::set_quarantine(const std::string& agent, bool quarantined, const std::string& reason) {
  if (!valid_agent_id(agent)) return Status(Code::kInvalidArgument, "invalid agent id");
  const int64_t now = now_ms();
  Status st = run_admin([&](VersionKeeper& k) -> Status {
    EDGEFED_RETURN_IF_ERROR(k.store().agents().set_quarantine(agent, quarantined, reason, now));
    agents_.set_quarantine(agent, quarantined, reason, now);
    return Status::ok();
  });
  if (st.is_ok()) {
    log::warn(quarantined ? "agent_quarantined" : "agent_released").kv("agent", agent).kv("reason", reason);
  }
  return st;
}

}  // namespace edgefed::server
