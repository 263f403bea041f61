#include "server/engine/engine.hpp"

#include <tuple>

#include "edgefed/log.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_io.hpp"
#include "server/engine/agent_registry.hpp"
#include "server/engine/engine_metrics.hpp"
#include "server/engine/group_commit_writer.hpp"
#include "server/engine/published_state.hpp"
#include "server/engine/state_store_opener.hpp"
#include "server/engine/update_intake.hpp"
#include "server/engine/version_keeper.hpp"
#include "server/store/relay_batch_table.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

using Job = GroupCommitWriter::Job;

Engine::Engine(const EngineOptions& options, std::shared_ptr<prometheus::Registry> metrics)
    : options_(options),
      clock_(options.clock ? options.clock : std::make_shared<SystemClock>()),
      metrics_(std::make_unique<EngineMetrics>(std::move(metrics))),
      agents_(std::make_unique<AgentRegistry>(options.agent_active_s, options.agent_offline_s)),
      state_(std::make_unique<PublishedState>(options_, *clock_, *metrics_, *agents_)),
      writer_(std::make_unique<GroupCommitWriter>(options_, *clock_, *metrics_, *agents_, *state_)),
      intake_(std::make_unique<UpdateIntake>(options_, *metrics_, *agents_, *state_, *writer_)) {}

Engine::~Engine() { shutdown(); }

Result<std::unique_ptr<Engine>> Engine::open(const EngineOptions& options,
                                             std::shared_ptr<prometheus::Registry> metrics) {
  EDGEFED_RETURN_IF_ERROR(validate(options));
  std::unique_ptr<Engine> engine(new Engine(options, std::move(metrics)));
  // Replicas of a shared database agree on the model and how it is merged:
  // a replica configured otherwise than the live ones is refused before it
  // touches anything.
  auto replicas = open_replica_set(options, *engine->clock_);
  if (!replicas.is_ok()) return replicas.status();
  if (*replicas) {
    auto config = replica_config_json(options);
    if (!config.is_ok()) return config.status();
    EDGEFED_RETURN_IF_ERROR((*replicas)->join(*config, engine->clock_->unix_ms()));
  }
  auto keeper = VersionKeeper::open(options, *engine->clock_, *engine->agents_);
  if (!keeper.is_ok()) return keeper.status();
  // With the pipelined group commit, what open() wrote (a first version, a
  // migrated table) committed without fsync: make it durable before anything
  // is served from it.
  if ((*keeper)->store().defers_sync()) EDGEFED_RETURN_IF_ERROR((*keeper)->store().sync_committed());
  auto telemetry = (*keeper)->store().telemetry().count();
  if (!telemetry.is_ok()) return telemetry.status();
  engine->state_->count_telemetry(*telemetry);
  (void)(*keeper)->take_effects();
  engine->state_->publish(**keeper);
  // Logged before the writer thread takes the keeper over.
  log::info("engine_open").kv("mode", options.mode).kv("version", (*keeper)->version())
      .kv("buffered", (*keeper)->buffered()).kv("layout", (*keeper)->layout()->describe())
      .kv("aggregator", std::string((*keeper)->aggregator_name()))
      .kv("server_optimizer", std::string((*keeper)->optimizer_name()))
      .kv("server_lr", effective_server_lr(options))
      .kv("store", (*keeper)->store().describe())
      .kv("replica", *replicas ? (*replicas)->name() : std::string());
  engine->intake_->set_spool((*keeper)->store().spool());
  engine->writer_->start(std::move(keeper).value(), std::move(replicas).value());
  return engine;
}

void Engine::shutdown() {
  writer_->stop();  // in-flight calls complete, then the database is closed
  state_->drop_waiters();
}

bool Engine::ready() const { return writer_->ready(); }

int64_t Engine::now_ms() const { return clock_->unix_ms(); }

Result<UpdateAck> Engine::submit_update(const std::string& cert_agent_id, std::span<const uint8_t> body) {
  return intake_->submit_update(cert_agent_id, body);
}

void Engine::submit_update_async(const std::string& cert_agent_id, std::span<const uint8_t> body,
                                 std::shared_ptr<const void> owner, std::function<void(Result<UpdateAck>)> done,
                                 std::function<void(std::function<void()>)> defer) {
  intake_->submit_update_async(cert_agent_id, body, std::move(owner), std::move(done), std::move(defer));
}

Result<UpdateAck> Engine::submit_aggregate(const std::string& session, int64_t base_version,
                                           std::span<const float> mean, uint64_t num_samples) {
  return intake_->submit_aggregate(session, base_version, mean, num_samples);
}

int64_t Engine::accepted_updates() const { return intake_->accepted_updates(); }

void Engine::set_observer(std::shared_ptr<EngineObserver> observer) {
  intake_->set_observer(observer);
  observer_ = std::move(observer);
}

Result<TelemetryAck> Engine::submit_telemetry(const std::string& cert_agent_id, const TelemetryBatch& batch) {
  if (!ready()) return Status(Code::kUnavailable, "the engine is not accepting telemetry");
  if (batch.agent_id != cert_agent_id) {
    return Status(Code::kPermissionDenied, "telemetry batch says agent " + batch.agent_id +
                                               " but the client certificate is " + cert_agent_id);
  }
  if (batch.records.empty() || batch.records.size() > options_.telemetry_max_records) {
    return Status(Code::kInvalidArgument, "a telemetry batch holds 1.." +
                                              std::to_string(options_.telemetry_max_records) + " records");
  }
  for (size_t i = 0; i < batch.records.size(); ++i) {
    if (batch.records[i].seq < 1 || (i > 0 && batch.records[i].seq <= batch.records[i - 1].seq)) {
      return Status(Code::kInvalidArgument, "telemetry seq must be >= 1 and strictly increasing");
    }
  }
  Job job;
  job.kind = Job::Kind::kTelemetry;
  job.agent = cert_agent_id;
  job.telemetry = &batch;
  EDGEFED_RETURN_IF_ERROR(writer_->run(job));
  // The observer sees only the records this call stored (not those already there).
  TelemetryBatch stored;
  stored.agent_id = batch.agent_id;
  stored.records = std::move(job.telemetry_stored);
  if (observer_ && !stored.records.empty()) observer_->on_telemetry(stored);
  return job.telemetry_ack;
}

ModelSnapshot Engine::current_model() const { return state_->current_model(); }

uint64_t Engine::on_version_after(int64_t after, std::function<void(ModelSnapshot)> cb) {
  return state_->on_version_after(after, std::move(cb));
}

void Engine::cancel(uint64_t id) { state_->cancel(id); }

namespace {

// The fields of a task that say how to train (what a relay takes from the
// central server), as references: one list to copy and to compare.
template <typename T>
auto training_fields(T& t) {
  return std::tie(t.mode, t.epochs, t.steps, t.batch_size, t.lr, t.momentum, t.weight_decay, t.proximal_mu,
                  t.clip_norm, t.encoding, t.topk_fraction);
}

}  // namespace

Result<Task> Engine::task_for(const std::string& agent_id) {
  if (!valid_agent_id(agent_id)) return Status(Code::kInvalidArgument, "invalid agent id");
  if (agents_->quarantined(agent_id)) return Status(Code::kPermissionDenied, "agent " + agent_id + " is quarantined");
  Task t;
  t.agent_id = agent_id;
  {
    const PublishedState::Current current = state_->current();
    t.model_version = current.model.version;
    t.layout_fingerprint = current.layout->fingerprint();
    t.model_spec = current.layout->architecture();
  }
  t.mode = options_.mode;
  t.round = t.model_version;
  t.epochs = options_.task_epochs;
  t.steps = options_.task_steps;
  t.batch_size = options_.task_batch_size;
  t.lr = options_.task_lr;
  t.momentum = options_.task_momentum;
  t.weight_decay = options_.task_weight_decay;
  t.proximal_mu = options_.task_proximal_mu;
  t.clip_norm = options_.task_clip_norm;
  t.encoding = options_.task_encoding;
  {
    std::lock_guard<std::mutex> lock(upstream_task_mu_);
    if (upstream_task_) training_fields(t) = training_fields(*upstream_task_);
  }
  t.secure_aggregation = options_.secure_aggregation;
  if (t.secure_aggregation != SecureAggregation::kOff) {
    t.secagg_clip = options_.secagg_clip;
    t.update_clip_norm = options_.clip_norm;
    t.dp_noise_multiplier = options_.dp_noise_multiplier;
  }
  std::tie(t.serve_version, t.serve_channel) = state_->serving()->target_for(agent_id);
  if (options_.task_deadline_s > 0) {
    t.deadline_unix_ms = now_ms() + static_cast<int64_t>(options_.task_deadline_s * 1000);
  }
  return t;
}

std::shared_ptr<const ModelLayout> Engine::layout() const { return state_->layout(); }

ServerStatus Engine::status() const {
  ServerStatus s = state_->status();
  const auto view = state_->serving();
  ServingSummary v;
  v.enabled = view->enabled;
  v.stable = view->stable;
  v.canary = view->canary;
  v.cohort_size = view->cohort_size;
  for (const auto& [version, n] : view->serving_agents) {
    if (version == view->stable) v.agents_on_stable += n;
    else if (version == view->canary) v.agents_on_canary += n;
    else v.agents_on_other += n;
  }
  if (auto it = view->validations.find(view->stable); it != view->validations.end()) {
    v.stable_validation = it->second.value;
    v.metric = it->second.metric;
  }
  s.serving = v;
  if (observer_) observer_->decorate(s);
  return s;
}

std::vector<AgentStatus> Engine::agents() const { return agents_->list(now_ms()); }

// ---- admin: each call runs as a job of its own on the writer thread, inside
// one transaction ----

Status Engine::run_admin(std::function<Status(VersionKeeper&)> fn) {
  if (!ready()) return Status(Code::kUnavailable, "the engine is not ready");
  Job job;
  job.kind = Job::Kind::kAdmin;
  job.admin = std::move(fn);
  return writer_->run(job);
}

Status Engine::set_model(std::span<const uint8_t> safetensors) {
  auto decoded = decode_model(safetensors);  // decoding off the writer thread
  if (!decoded.is_ok()) return decoded.status();
  // A file with a model_spec must carry one this server's agents can train
  // and tensors that match it; an MLP written before specs gets its spec.
  if (!decoded->model.layout.architecture().empty()) {
    if (auto spec = ml::ModelSpec::of_layout(decoded->model.layout); !spec) return spec.status();
  } else {
    ml::upgrade_legacy_mlp(decoded->model);
  }
  auto model = std::make_shared<Model>(std::move(decoded->model));
  return run_admin([model](VersionKeeper& k) { return k.replace_model(std::move(*model), "set", k.version()); });
}

Status Engine::init_model(const std::string& spec_text, uint64_t seed) {
  // A JSON spec or a preset name; never a file name: this comes over HTTP.
  auto spec = !spec_text.empty() && spec_text.front() == '{' ? ml::ModelSpec::parse(spec_text)
                                                             : ml::ModelSpec::preset(spec_text);
  if (!spec.is_ok()) return spec.status();
  auto model = std::make_shared<Model>(spec->init(seed));
  return run_admin([model](VersionKeeper& k) { return k.replace_model(std::move(*model), "init", k.version()); });
}

Status Engine::rollback(int64_t version) {
  return run_admin([this, version](VersionKeeper& k) -> Status {
    if (version < 0 || version > k.version()) {
      return Status(Code::kNotFound, "no version " + std::to_string(version));
    }
    auto model = k.load_version(version);
    if (!model.is_ok()) return model.status();
    EDGEFED_RETURN_IF_ERROR(k.replace_model(std::move(model).value(), "rollback", version));
    // With serving channels the fleet serves the rolled-back parameters at
    // once: an admin's decision needs no canary.
    if (!options_.channels.canary_fraction) return Status::ok();
    return k.channels().promote(k.store().channels(), k.version(), now_ms(),
                                "admin rollback to version " + std::to_string(version));
  });
}

Status Engine::promote(int64_t version) {
  return run_admin([this, version](VersionKeeper& k) -> Status {
    if (!options_.channels.canary_fraction)
      return Status(Code::kUnprocessable, "serving channels are off (--canary-fraction 0)");
    if (version < 0 || version > k.version()) return Status(Code::kNotFound, "no version " + std::to_string(version));
    // Agents fetch the stable version by number: it must still be kept.
    auto model = k.load_version(version);
    if (!model.is_ok()) return model.status();
    return k.channels().promote(k.store().channels(), version, now_ms(), "admin promote");
  });
}

std::shared_ptr<const ServingView> Engine::serving() const { return state_->serving(); }

bool Engine::kept(int64_t version) const {
  const int64_t newest = state_->current_model().version;
  const auto view = state_->serving();
  return version >= 0 && version <= newest &&
         (version > newest - options_.keep_last_n || (options_.keep_every_m > 0 && version % options_.keep_every_m == 0) ||
          version == view->stable || version == view->canary);
}

Result<Model> Engine::kept_model(int64_t version) {
  if (version < 0) return Status(Code::kNotFound, "no version " + std::to_string(version));
  const ModelSnapshot snap = current_model();
  if (version == snap.version && snap.bytes) {
    auto decoded = decode_model({reinterpret_cast<const uint8_t*>(snap.bytes->data()), snap.bytes->size()});
    if (!decoded.is_ok()) return decoded.status();
    return std::move(decoded->model);
  }
  auto out = std::make_shared<Result<Model>>(Status(Code::kNotFound, "no version " + std::to_string(version)));
  Status st = run_admin([version, out](VersionKeeper& k) -> Status {
    if (version <= k.version()) *out = k.load_version(version);
    return Status::ok();  // a read: nothing to roll back either way
  });
  if (!st.is_ok()) return st;
  return std::move(*out);
}

Status Engine::set_quarantine(const std::string& agent, bool quarantined, const std::string& reason) {
  if (!valid_agent_id(agent)) return Status(Code::kInvalidArgument, "invalid agent id");
  const int64_t now = now_ms();
  Status st = run_admin([&](VersionKeeper& k) -> Status {
    EDGEFED_RETURN_IF_ERROR(k.store().agents().set_quarantine(agent, quarantined, reason, now));
    agents_->set_quarantine(agent, quarantined, reason, now);
    return Status::ok();
  });
  if (st.is_ok()) {
    log::warn(quarantined ? "agent_quarantined" : "agent_released").kv("agent", agent).kv("reason", reason);
  }
  return st;
}

// ---- site relay: each call a job of its own on the writer thread ----

Status Engine::adopt_upstream(int64_t version, std::span<const uint8_t> safetensors) {
  if (!options_.relay) return Status(Code::kUnprocessable, "this server is no relay (--upstream)");
  auto decoded = decode_model(safetensors);  // off the writer thread
  if (!decoded.is_ok()) return Status(Code::kInvalidArgument, "the central model: " + decoded.status().message());
  auto model = std::make_shared<Model>(std::move(decoded->model));
  return run_admin([model, version](VersionKeeper& k) { return k.adopt_upstream(version, std::move(*model)); });
}

bool Engine::set_upstream_task(const Task& central) {
  std::lock_guard<std::mutex> lock(upstream_task_mu_);
  const bool changed = !upstream_task_ || training_fields(*upstream_task_) != training_fields(central);
  upstream_task_ = central;
  return changed;
}

Result<int64_t> Engine::form_relay_batches(bool force) {
  int64_t formed = 0;
  Status st = run_admin([&formed, force](VersionKeeper& k) -> Status {
    auto n = k.form_relay_batches(force);
    if (!n.is_ok()) return n.status();
    formed = *n;
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return formed;
}

int64_t Engine::relay_batches_formed() const { return writer_->relay_batches_formed(); }

void Engine::set_relay_uplink_up(bool up) { writer_->set_relay_uplink_up(up); }

Result<std::vector<Engine::RelayBatchToSend>> Engine::unsent_relay_batches(int64_t limit) {
  std::vector<RelayBatchToSend> out;
  Status st = run_admin([&out, limit](VersionKeeper& k) -> Status {
    RelayBatchTable* t = k.store().relay_batches();
    if (t == nullptr) return Status(Code::kUnprocessable, "this server is no relay");
    auto rows = t->unsent(limit);
    if (!rows.is_ok()) return rows.status();
    for (auto& b : *rows) out.push_back({b.id, std::move(b.update_id), b.base_version, b.updates, b.samples,
                                         std::move(b.body)});
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return out;
}

Status Engine::mark_relay_batches(const std::vector<RelayBatchAnswer>& answers) {
  if (answers.empty()) return Status::ok();
  const int64_t now = now_ms();
  return run_admin([&answers, now](VersionKeeper& k) -> Status {
    RelayBatchTable* t = k.store().relay_batches();
    if (t == nullptr) return Status(Code::kUnprocessable, "this server is no relay");
    for (const auto& a : answers) EDGEFED_RETURN_IF_ERROR(t->mark_sent(a.id, now, a.upstream_version, a.result));
    return Status::ok();
  });
}

}  // namespace edgefed::server
