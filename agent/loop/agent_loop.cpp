#include "agent/loop/agent_loop.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "edgefed/ml/data_spec.hpp"
#include "agent/link/model_cache.hpp"
#include "agent/loop/secagg_driver.hpp"
#include "agent/loop/system_probe.hpp"
#include "agent/loop/telemetry_recorder.hpp"
#include "edgefed/file_io.hpp"
#include "edgefed/log.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/sqlite/error.hpp"
#include "edgefed/update_codec.hpp"

namespace edgefed::agent {
namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Exclusive lock on STATE_DIR/agent.lock: two agents on one outbox would
// each forward the other's records.
Result<int> lock_state_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(Code::kIo, "cannot create state dir " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  const std::string path = dir + "/agent.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kIo, "cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status(Code::kUnavailable, "state dir " + dir + " is in use by another agent");
  }
  return fd;
}

}  // namespace

AgentLoop::AgentLoop(AgentConfig config, AgentSeams seams)
    : config_(std::move(config)),
      seams_(std::move(seams)),
      clock_(seams_.clock ? seams_.clock : &SystemClock::instance()) {}

AgentLoop::~AgentLoop() {
  predict_server_.reset();  // before the model it serves
  serving_.reset();         // borrows the recorder
  recorder_.reset();
  secagg_.reset();
  forwarder_.reset();
  link_.reset();
  outbox_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<AgentLoop>> AgentLoop::create(AgentConfig config, AgentSeams seams) {
  if (!valid_agent_id(config.agent_id))
    return Status(Code::kInvalidArgument, "bad agent id '" + config.agent_id +
                                              "' (1-64 of [A-Za-z0-9._-], starting alphanumeric)");
  if (config.state_dir.empty()) return Status(Code::kInvalidArgument, "no state dir given");
  if (!(seams.slowdown >= 1.0)) return Status(Code::kInvalidArgument, "slowdown must be >= 1");
  config.link.agent_id = config.agent_id;
  if (config.seed == 0) config.seed = fnv1a(config.agent_id);
  std::unique_ptr<AgentLoop> loop(new AgentLoop(std::move(config), std::move(seams)));
  EDGEFED_RETURN_IF_ERROR(loop->init());
  return loop;
}

Status AgentLoop::init() {
  auto fd = lock_state_dir(config_.state_dir);
  if (!fd) return fd.status();
  lock_fd_ = *fd;
  auto box = Outbox::open({.path = config_.state_dir + "/outbox.db",
                           .limits = config_.outbox_limits,
                           .full_sync = config_.outbox_full_sync,
                           .vfs = config_.outbox_vfs});
  if (!box) return box.status();
  outbox_ = std::move(*box);

  if (seams_.transport) {
    EDGEFED_RETURN_IF_ERROR(validate(config_.link.backoff));
    link_ = Link::create(config_.link, std::move(seams_.transport), *clock_, seams_.link_fault);
  } else {
    auto link = Link::create(config_.link, *clock_, seams_.link_fault);
    if (!link) return link.status();
    link_ = std::move(*link);
  }
  forwarder_ = std::make_unique<Forwarder>(*outbox_, *link_, *clock_, config_.agent_id,
                                           config_.forward);
  recorder_ = std::make_unique<TelemetryRecorder>(*outbox_, *link_, *clock_, config_.device_class);
  secagg_ = std::make_unique<SecAggDriver>(*outbox_, *link_, *clock_, config_.agent_id);
  EDGEFED_RETURN_IF_ERROR(secagg_->load());

  if (seams_.data) {
    trainer_ = RoundTrainer::with_data(std::move(*seams_.data), config_.round);
    seams_.data.reset();
  } else {
    auto spec = ml::parse_data_spec(config_.data_spec);
    if (!spec) return spec.status();
    if (spec->kind == ml::DataKind::kStream) {
      auto stream = ml::StreamSource::open(*spec);
      if (!stream) return stream.status();
      trainer_ = RoundTrainer::with_stream(std::move(*stream), config_.round);
    } else {
      auto data = ml::load_local_data(*spec);
      if (!data) return data.status();
      if (data->train.empty())
        return Status(Code::kInvalidArgument, "--data " + config_.data_spec + ": no training samples");
      trainer_ = RoundTrainer::with_data(std::move(*data), config_.round);
    }
  }

  sync_ = std::make_unique<ModelSync>(config_.state_dir, config_.agent_id);
  sync_->load_cached();
  if (sync_->has_model()) model_version_ = sync_->version();
  serving_ = std::make_unique<ServingKeeper>(config_.agent_id, config_.state_dir, config_.serve_threshold, *clock_,
                                             *trainer_, *recorder_);
  serving_->load();
  if (!config_.predict_socket.empty()) {
    auto server = PredictServer::start({.socket_path = config_.predict_socket, .max_batch = config_.predict_max_batch},
                                       serving_->serving(), &serving_->drift());
    if (!server) return server.status();
    predict_server_ = std::move(*server);
  }
  std::ifstream in(config_.state_dir + "/sync_version");
  if (!(in >> last_sync_version_)) last_sync_version_ = -1;
  log::info("agent_started")
      .kv("agent", config_.agent_id)
      .kv("server", config_.link.server_url)
      .kv("state_dir", config_.state_dir)
      .kv("local_samples", trainer_->local_samples())
      .kv("cached_model_version", sync_->has_model() ? sync_->version() : -1)
      .kv("serving_version", serving_->serving_version())
      .kv("holdout_samples", trainer_->holdout_samples());
  return Status::ok();
}

void AgentLoop::stop() {
  {
    std::lock_guard lock(wait_mu_);
    stop_ = true;
  }
  wait_cv_.notify_all();
}

void AgentLoop::sleep_ms(int64_t ms) {
  if (ms <= 0 || stop_) return;
  if (seams_.sleep) {
    seams_.sleep(ms);
    return;
  }
  std::unique_lock lock(wait_mu_);
  wait_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
}

AgentSnapshot AgentLoop::snapshot() const {
  AgentSnapshot s;
  s.link = link_->state();
  s.rounds = rounds_.load();
  s.model_version = model_version_.load();
  s.serving_version = serving_->serving_version();
  s.models_rejected = serving_->models_rejected();
  s.last_loss = last_loss_.load();
  if (auto d = outbox_->depth()) s.depth = *d;
  if (auto j = outbox_->journal()) s.journal = *j;
  s.outbox_failures = outbox_failures_.load();
  return s;
}

void AgentLoop::refresh_plan(bool long_poll) {
  if (!link_->ready()) return;
  const int64_t now = clock_->monotonic_ms();
  const bool want_task = task_fetched_ms_ < 0 || now - task_fetched_ms_ >= config_.task_refresh_ms;
  const RefreshResult r =
      sync_->refresh(*link_, long_poll ? config_.model_wait_s : 0, want_task);
  if (r.task_fetched) task_fetched_ms_ = now;
  if (sync_->has_model()) model_version_ = sync_->version();
  const bool transient = retryable(r.error.code());  // the link logs those
  const std::string err = r.error.is_ok() ? "" : r.error.to_string();
  if (!r.error.is_ok() && !transient && err != last_plan_error_) {
    log::warn("plan_refused").kv("agent", config_.agent_id).kv("error", err);
    // Once per distinct refusal, not at every poll of the same model.
    if (r.refused) {
      Status st = recorder_->record_model_event("refused", r.refused_version,
                                                sync_->has_model() ? sync_->version() : -1, r.error.message());
      if (!st.is_ok()) log::warn("telemetry_not_stored").kv("agent", config_.agent_id).kv("error", st.to_string());
    }
  }
  last_plan_error_ = err;
}

bool AgentLoop::should_train() const {
  if (!training_) return false;
  if (config_.offline_updates_per_version > 0 && link_->state() != LinkState::kOnline &&
      sync_->has_model()) {
    auto queued = outbox_->pending_updates_on(sync_->version());
    if (queued && *queued >= config_.offline_updates_per_version) return false;
  }
  if (!sync_->has_model() || !sync_->has_task()) return false;
  if (sync_->task().mode != MergeMode::kSync) return true;
  // Secure aggregation: this version's round was full; wait for the next.
  if (sync_->task().secure_aggregation != SecureAggregation::kOff && sync_->version() == secagg_full_version_)
    return false;
  // Sync: one update per version, and only for the version the plan names.
  return sync_->version() > last_sync_version_ && sync_->version() >= sync_->task().model_version;
}

Status AgentLoop::train_round() {
  const Model& global = sync_->model();
  const Task& task = sync_->task();
  const int64_t base = sync_->version();
  // Secure aggregation: a session first (it is formed before its members
  // train); no session, no round.
  std::string session;
  if (task.secure_aggregation != SecureAggregation::kOff) {
    auto joined = join_secagg(base, global.layout.size());
    if (!joined) return Status::ok();
    session = std::move(*joined);
  }
  auto journal = outbox_->journal();
  if (!journal) return journal.status();
  // The round index survives restarts, so data order does not repeat.
  const uint64_t seed = config_.seed + static_cast<uint64_t>(journal->updates_created);

  const auto wall0 = std::chrono::steady_clock::now();
  auto result = trainer_->train(global, task, seed, stop_);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!result) {
    if (result.status().code() != Code::kUnavailable)
      log::error("training_failed")
          .kv("agent", config_.agent_id)
          .kv("base_version", base)
          .kv("error", result.status().to_string());
    sleep_ms(config_.idle_ms);
    return Status::ok();  // a bad round is not fatal; the next model may fix it
  }
  if (!seams_.pacer && seams_.slowdown > 1.0)
    sleep_ms(static_cast<int64_t>((seams_.slowdown - 1.0) * wall_s * 1000.0));
  if (stop_) return Status::ok();

  if (task.mode == MergeMode::kSync) {
    // Written before the update exists: a crash in between skips this
    // version rather than sending two updates for it.
    last_sync_version_ = base;
    Status st = write_file_atomic(config_.state_dir + "/sync_version", std::to_string(base));
    if (!st.is_ok()) return st;
  }

  EncodeOptions enc;
  enc.encoding = task.encoding;  // parse_task() refused any other name
  enc.topk_fraction = task.topk_fraction;
  RoundResult& r = *result;
  if (config_.attack.kind != Attack::Kind::kNone && base >= config_.attack.from_version)
    apply_attack(config_.attack, r.delta, seed);
  if (!session.empty()) return start_secagg_round(session, base, r);
  size_t encoded_bytes = 0;
  auto update_id = outbox_->add_update(
      config_.agent_id, base, clock_->unix_ms(), [&](const std::string& uid) -> Result<std::string> {
        UpdateMetadata meta;
        meta.agent_id = config_.agent_id;
        meta.update_id = uid;
        meta.base_version = base;
        meta.num_samples = r.num_samples;
        meta.train_loss = std::isfinite(r.train_loss) && r.train_loss >= 0 ? r.train_loss : 0.0;
        meta.normalizer = r.normalizer;
        auto body = encode_update(global.layout, r.delta, meta, enc);
        if (body) encoded_bytes = body->size();
        return body;
      });
  if (!update_id) {
    // The outbox's own failures end the round with their Status (run()
    // decides whether they are transient); an encoding failure does not.
    const Code code = update_id.status().code();
    if (code == Code::kIo || code == Code::kInternal || code == Code::kUnavailable) return update_id.status();
    log::error("update_not_encoded")
        .kv("agent", config_.agent_id)
        .kv("error", update_id.status().to_string());
    return Status::ok();
  }
  if (seams_.pacer) {
    // Fleet time: what the round moved over the device's link (the model
    // once per new version, the update); iterate() paces the round.
    round_traffic_ = {base != paced_version_ ? static_cast<int64_t>(global.params.size() * sizeof(float)) : 0,
                      static_cast<int64_t>(encoded_bytes)};
    paced_version_ = base;
  }
  ++rounds_;
  last_loss_ = r.train_loss;
  log::debug("round_trained")
      .kv("agent", config_.agent_id)
      .kv("update_id", *update_id)
      .kv("base_version", base)
      .kv("loss", r.train_loss)
      .kv("samples", r.num_samples)
      .kv("seconds", r.seconds);
  return recorder_->record_train(r, *update_id, base);
}

std::optional<std::string> AgentLoop::join_secagg(int64_t base, uint64_t vector_length) {
  const SecAggJoin j = secagg_->join(base, vector_length);
  switch (j.kind) {
    case SecAggJoin::Kind::kJoined:
      log::info("secagg_joined").kv("agent", config_.agent_id).kv("session", j.session).kv("base_version", base);
      return j.session;
    case SecAggJoin::Kind::kRetry:
      break;  // the link logs and backs off
    case SecAggJoin::Kind::kRoundFull:
      // Sync: this version's session has its cohort; train on the next one.
      log::info("secagg_round_full").kv("agent", config_.agent_id).kv("base_version", base);
      if (sync_->task().mode == MergeMode::kSync) secagg_full_version_ = base;
      break;
    case SecAggJoin::Kind::kModelMoved:
      // The server is on another version: fetch plan and model again.
      log::info("secagg_join_stale").kv("agent", config_.agent_id).kv("base_version", base);
      task_fetched_ms_ = -1;
      break;
    case SecAggJoin::Kind::kRefused:
      log::warn("secagg_join_refused")
          .kv("agent", config_.agent_id)
          .kv("base_version", base)
          .kv("error", j.status.to_string());
      task_fetched_ms_ = -1;  // the task may say otherwise by now
      break;
  }
  return std::nullopt;
}

Status AgentLoop::start_secagg_round(const std::string& session, int64_t base, RoundResult& r) {
  const Task& task = sync_->task();
  auto started = secagg_->start(session, base, r, {task.update_clip_norm, task.dp_noise_multiplier});
  if (!started) return started.status();
  if (!*started) return Status::ok();
  if (seams_.pacer) {
    // Fleet time: the model once per new version, and the masked input
    // (one 32-bit word per coordinate; the key and share messages are small).
    round_traffic_ = {base != paced_version_ ? static_cast<int64_t>(sync_->model().params.size() * sizeof(float)) : 0,
                      static_cast<int64_t>(r.delta.size() * sizeof(uint32_t))};
    paced_version_ = base;
  }
  ++rounds_;
  last_loss_ = r.train_loss;
  return recorder_->record_train(r, session, base);
}

void AgentLoop::secagg_ended(const SecAggStep& step) {
  if (step.how == SecAggEnd::kDone || step.base_version != last_sync_version_) return;
  // Nothing of this version was merged: its round may be trained again
  // (sync mode's one update per version still holds).
  last_sync_version_ = step.base_version - 1;
  Status st = write_file_atomic(config_.state_dir + "/sync_version", std::to_string(last_sync_version_));
  if (!st.is_ok()) log::warn("sync_version_not_written").kv("agent", config_.agent_id).kv("error", st.to_string());
}

Status AgentLoop::drive_secagg() {
  auto step = secagg_->step();
  if (!step) return step.status();
  if (step->ended) secagg_ended(*step);
  return Status::ok();
}

Status AgentLoop::drive_secagg_to_end(int64_t deadline_ms) {
  while (secagg_->active()) {
    if (stop_ || clock_->monotonic_ms() >= deadline_ms)
      return Status(Code::kUnavailable, "secure aggregation session " + secagg_->session() +
                                            " did not end in time (it stays stored for the next start)");
    auto step = secagg_->step();
    if (!step) return step.status();
    if (step->ended) {
      secagg_ended(*step);
      if (step->how == SecAggEnd::kDone) return Status::ok();
      return Status(Code::kUnavailable, "secure aggregation round ended: " + step->outcome + " (see the log)");
    }
    sleep_ms(link_->ready() ? config_.secagg_poll_ms : std::max<int64_t>(link_->wait_ms(), 100));
  }
  return Status::ok();
}

Status AgentLoop::record_periodic() {
  if (!training_ || clock_->monotonic_ms() < next_system_ms_) return Status::ok();
  EDGEFED_RETURN_IF_ERROR(
      tolerate(recorder_->record_system(rounds_.load(), model_version_.load(), serving_->serving_version()),
               "system telemetry"));
  if (auto d = serving_->drift().report()) EDGEFED_RETURN_IF_ERROR(tolerate(recorder_->record_drift(*d), "drift telemetry"));
  next_system_ms_ = clock_->monotonic_ms() + config_.telemetry_interval_ms;
  return Status::ok();
}

Status AgentLoop::update_serving() {
  EDGEFED_RETURN_IF_ERROR(serving_->validate_new_version(*sync_));
  EDGEFED_RETURN_IF_ERROR(serving_->follow_target(*sync_, *link_));
  if (serving_->take_validated()) next_telemetry_ms_ = 0;
  return Status::ok();
}

Status AgentLoop::forward(bool flush_telemetry) {
  if (!link_->ready()) return Status::ok();
  auto reported = outbox_->report_drops(clock_->unix_ms());
  if (!reported) return reported.status();
  auto depth = outbox_->depth();
  if (!depth) return depth.status();
  // Telemetry goes in batches: when due, when a batch is full, or on flush.
  const int64_t now = clock_->monotonic_ms();
  const bool telemetry = flush_telemetry || !training_ || now >= next_telemetry_ms_ ||
                         depth->telemetry >= static_cast<int64_t>(config_.forward.telemetry_batch);
  if (depth->records() == 0 || (depth->updates == 0 && !telemetry)) return Status::ok();
  auto stats = forwarder_->forward(telemetry);
  if (!stats) return stats.status();
  if (telemetry && !stats->link_failed) next_telemetry_ms_ = now + config_.telemetry_interval_ms;
  return Status::ok();
}

Status AgentLoop::tolerate(Status st, const char* what) {
  if (st.is_ok() || !sqlite::transient(st)) return st;
  // A full disk, a failed fsync or a busy file: the outbox call changed
  // nothing (one transaction), what it acknowledged before stays. Keep
  // training and forwarding; the next call may succeed once the fault clears.
  ++outbox_failures_;
  log::warn("outbox_unavailable").kv("agent", config_.agent_id).kv("during", what).kv("error", st.to_string());
  return Status::ok();
}

Status AgentLoop::iterate() {
  if (!config_.health_file.empty()) touch_file(config_.health_file);
  if (secagg_->active()) {
    // A secure aggregation round in progress (maybe from before a restart)
    // comes first: no new plan or round until its session ends.
    EDGEFED_RETURN_IF_ERROR(tolerate(drive_secagg(), "secure aggregation"));
    EDGEFED_RETURN_IF_ERROR(tolerate(recorder_->record_link_change(), "link telemetry"));
    EDGEFED_RETURN_IF_ERROR(record_periodic());
    EDGEFED_RETURN_IF_ERROR(tolerate(forward(false), "forward"));
    const int64_t wait = link_->ready() ? config_.secagg_poll_ms
                                        : std::min(config_.secagg_poll_ms * 5, link_->wait_ms());
    sleep_ms(std::max<int64_t>(wait, 1));
    return Status::ok();
  }
  const int64_t started = clock_->monotonic_ms();
  const bool sync_waiting = sync_->has_task() && sync_->task().mode == MergeMode::kSync && !should_train();
  refresh_plan(sync_waiting);
  // Fleet time: the device's round is everything from here to the update
  // sent (validating the new version, training, encoding, storing, telemetry,
  // the push): a slow device is slow at all of it, not only at the gradient
  // steps. What came before (a sync long poll) is waiting for the fleet.
  const double cpu0 = seams_.pacer ? thread_cpu_seconds() : 0;
  const auto wall0 = std::chrono::steady_clock::now();
  round_traffic_ = {};
  EDGEFED_RETURN_IF_ERROR(tolerate(update_serving(), "validation telemetry"));
  bool trained = false;
  if (should_train() && !stop_) {
    EDGEFED_RETURN_IF_ERROR(tolerate(train_round(), "train"));
    trained = true;
  }
  EDGEFED_RETURN_IF_ERROR(tolerate(recorder_->record_link_change(), "link telemetry"));
  EDGEFED_RETURN_IF_ERROR(record_periodic());
  EDGEFED_RETURN_IF_ERROR(tolerate(forward(false), "forward"));
  if (trained && seams_.pacer && !stop_) {
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    sleep_ms(static_cast<int64_t>(
        seams_.pacer->wait_after_round(thread_cpu_seconds() - cpu0, wall_s, round_traffic_) * 1000.0));
  }
  if (!trained) {
    // Nothing to train on: wait for the link (or a little, to poll again).
    const int64_t wait = link_->ready() ? config_.idle_ms : std::min(config_.idle_ms * 5, link_->wait_ms());
    sleep_ms(std::max<int64_t>(wait, 1));
  } else if (config_.min_round_interval_ms > 0) {
    sleep_ms(config_.min_round_interval_ms - (clock_->monotonic_ms() - started));
  }
  return Status::ok();
}

Status AgentLoop::run() {
  while (!stop_) {
    Status st = iterate();
    if (!st.is_ok()) {
      log::error("agent_failed").kv("agent", config_.agent_id).kv("error", st.to_string());
      return st;
    }
  }
  log::info("agent_stopped").kv("agent", config_.agent_id).kv("rounds", rounds_.load());
  return Status::ok();
}

Status AgentLoop::run_once() {
  const int64_t deadline = clock_->monotonic_ms() + config_.once_timeout_ms;
  refresh_plan(false);
  while (!sync_->has_model() || !sync_->has_task()) {
    if (stop_ || clock_->monotonic_ms() >= deadline)
      return Status(Code::kUnavailable, "no model: the server was not reachable in time");
    sleep_ms(std::max<int64_t>(link_->wait_ms(), 100));
    refresh_plan(false);
  }
  EDGEFED_RETURN_IF_ERROR(update_serving());
  // A secure aggregation round left by an earlier run ends first (its
  // outcome is that run's; this one trains its own round).
  if (secagg_->active()) {
    Status left = drive_secagg_to_end(deadline);
    if (!left.is_ok() && secagg_->active()) return left;
  }
  auto before = outbox_->journal();
  if (!before) return before.status();
  Status secagg_outcome;
  if (sync_->task().secure_aggregation != SecureAggregation::kOff) {
    // Until a session takes this agent (a stale model, a full round: the
    // plan is fetched again), then through the session to its end.
    while (!secagg_->active()) {
      EDGEFED_RETURN_IF_ERROR(train_round());
      if (secagg_->active()) break;
      if (stop_ || clock_->monotonic_ms() >= deadline)
        return Status(Code::kUnavailable, "no secure aggregation session took this agent in time");
      sleep_ms(std::max<int64_t>(link_->wait_ms(), config_.secagg_poll_ms));
      refresh_plan(false);
    }
    secagg_outcome = drive_secagg_to_end(deadline);
    if (!secagg_outcome.is_ok() && secagg_->active()) return secagg_outcome;
  } else {
    EDGEFED_RETURN_IF_ERROR(train_round());
  }
  EDGEFED_RETURN_IF_ERROR(recorder_->record_system(rounds_.load(), model_version_.load(), serving_->serving_version()));
  for (;;) {
    EDGEFED_RETURN_IF_ERROR(forward(true));
    auto d = outbox_->depth();
    if (!d) return d.status();
    if (d->records() == 0) {
      auto after = outbox_->journal();
      if (!after) return after.status();
      const int64_t refused = after->updates_rejected - before->updates_rejected;
      if (refused > 0)
        return Status(Code::kUnprocessable,
                      "the server refused " + std::to_string(refused) + " update(s); see the log");
      return secagg_outcome;
    }
    if (stop_ || clock_->monotonic_ms() >= deadline)
      return Status(Code::kUnavailable,
                    "outbox not drained in time: " + std::to_string(d->records()) + " records queued");
    sleep_ms(std::max<int64_t>(link_->wait_ms(), 100));
  }
}

}  // namespace edgefed::agent
