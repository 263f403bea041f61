#include "server/engine/engine.hpp"

#include "server/engine/engine_core.hpp"

namespace edgefed::server {

Engine::Engine(std::unique_ptr<EngineCore> core) : core_(std::move(core)) {}
Engine::~Engine() { shutdown(); }

Result<std::unique_ptr<Engine>> Engine::open(const EngineOptions& options,
                                             std::shared_ptr<prometheus::Registry> metrics) {
  auto core = EngineCore::open(options, std::move(metrics));
  if (!core.is_ok()) return core.status();
  return std::unique_ptr<Engine>(new Engine(std::move(core).value()));
}

Result<UpdateAck> Engine::submit_update(const std::string& cert_agent_id, std::span<const uint8_t> body) {
  std::vector<float> delta;
  auto ack = core_->submit_update(cert_agent_id, body, observer_ ? &delta : nullptr);
  if (observer_ && ack.is_ok() && !ack->duplicate) observer_->on_update(cert_agent_id, delta, *ack);
  return ack;
}
Result<TelemetryAck> Engine::submit_telemetry(const std::string& cert_agent_id, const TelemetryBatch& batch) {
  TelemetryBatch stored;
  auto ack = core_->submit_telemetry(cert_agent_id, batch, observer_ ? &stored : nullptr);
  if (observer_ && ack.is_ok() && !stored.records.empty()) observer_->on_telemetry(stored);
  return ack;
}
ModelSnapshot Engine::current_model() const { return core_->current_model(); }
uint64_t Engine::on_version_after(int64_t after, std::function<void(ModelSnapshot)> cb) {
  return core_->on_version_after(after, std::move(cb));
}
void Engine::cancel(uint64_t id) { core_->cancel(id); }
Result<Task> Engine::task_for(const std::string& agent_id) { return core_->task_for(agent_id); }
ServerStatus Engine::status() const {
  ServerStatus s = core_->status();
  if (observer_) observer_->decorate(s);
  return s;
}
Status Engine::set_model(std::span<const uint8_t> safetensors) { return core_->set_model(safetensors); }
Status Engine::init_model(const std::string& spec, uint64_t seed) { return core_->init_model(spec, seed); }
Status Engine::rollback(int64_t version) { return core_->rollback(version); }
Status Engine::set_quarantine(const std::string& agent, bool quarantined, const std::string& reason) {
  return core_->set_quarantine(agent, quarantined, reason);
}
std::vector<AgentStatus> Engine::agents() const { return core_->agents(); }
bool Engine::ready() const { return core_->ready(); }
void Engine::shutdown() { core_->shutdown(); }

}  // namespace edgefed::server
