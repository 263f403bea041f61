#include "server/secagg/secagg_service.hpp"

#include <pthread.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <utility>

#include "edgefed/log.hpp"
#include "edgefed/secagg/random_source.hpp"

namespace edgefed::server {

namespace sa = edgefed::secagg;
using nlohmann::json;

namespace {

// Final answers kept for agents that ask after their session ended.
constexpr size_t kEndedKept = 4096;

SecAggOptions coordinator_options(const EngineOptions& o) {
  return SecAggOptions{o.secagg_clip, o.secagg_min_agents, o.secagg_degree, o.secagg_phase_timeout_s,
                       o.secagg_quorum};
}

// "v<base>-<16 hex>": random, so that ids never repeat across restarts
// (the ledger keys the merged sum by it).
Result<std::string> new_session_id(int64_t base_version) {
  std::array<uint8_t, 8> bytes{};
  EDGEFED_RETURN_IF_ERROR(sa::system_random()(bytes));
  // Appended piece by piece: GCC 12's -Wrestrict misfires on "v" + to_string(...).
  std::string id;
  id.reserve(40);
  id += 'v';
  id += std::to_string(base_version);
  id += '-';
  char hex[3];
  for (uint8_t b : bytes) {
    std::snprintf(hex, sizeof hex, "%02x", b);
    id += hex;
  }
  return id;
}

}  // namespace

SecAggService::SecAggService(const EngineOptions& options, Engine& engine, std::shared_ptr<Clock> clock,
                             std::unique_ptr<StoredSessionSink> sink)
    : options_(options), engine_(engine), clock_(std::move(clock)), sink_(std::move(sink)) {
  coordinator_ =
      std::make_unique<SecAggCoordinator>(coordinator_options(options_), *clock_, *sink_, sa::system_random());
}

Result<std::unique_ptr<SecAggService>> SecAggService::open(const EngineOptions& options, Engine& engine,
                                                           std::shared_ptr<Clock> clock, bool start_thread) {
  if (options.secure_aggregation == SecureAggregation::kOff)
    return Status(Code::kInvalidArgument, "secure aggregation is off");
  if (!clock) clock = std::make_shared<SystemClock>();
  auto sink = StoredSessionSink::open(options.state_dir,
                                      {.fsync_full = options.fsync_full, .max_bytes = 0, .vfs = options.store_vfs},
                                      *clock);
  if (!sink.is_ok()) return sink.status();
  std::unique_ptr<SecAggService> s(new SecAggService(options, engine, std::move(clock), std::move(sink).value()));
  EDGEFED_RETURN_IF_ERROR(s->restore());
  if (start_thread) {
    SecAggService* self = s.get();
    s->ticker_ = std::thread([self] {
      pthread_setname_np(pthread_self(), "edgefed-secagg");
      std::unique_lock lock(self->stop_mu_);
      while (!self->stopping_) {
        lock.unlock();
        self->tick();
        lock.lock();
        self->stop_cv_.wait_for(lock, std::chrono::milliseconds(100), [self] { return self->stopping_; });
      }
    });
  }
  return s;
}

SecAggService::~SecAggService() { stop(); }

void SecAggService::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

Status SecAggService::restore() {
  auto rows = sink_->list();
  if (!rows.is_ok()) return rows.status();
  for (const auto& row : *rows) {
    const json info = json::parse(row.info, nullptr, false);
    const bool usable = info.is_object() && info.contains("base_version") && info["base_version"].is_number_integer() &&
                        info.contains("cohort_size") && info["cohort_size"].is_number_unsigned() &&
                        !row.snapshot.empty();
    if (!usable) {
      // Written up to its row but not its first snapshot: it never took a
      // message, nothing to resume.
      log::warn("secagg_session_dropped").kv("session", row.session).kv("reason", "incomplete row");
      EDGEFED_RETURN_IF_ERROR(sink_->erase(row.session));
      continue;
    }
    Cohort c;
    c.base_version = info["base_version"].get<int64_t>();
    c.size = info["cohort_size"].get<size_t>();
    c.closed = true;  // its members are in the snapshot; new agents start new sessions
    Status st = coordinator_->restore(row.snapshot, c.size);
    if (!st.is_ok()) {
      log::error("secagg_session_unreadable").kv("session", row.session).kv("error", st.to_string());
      EDGEFED_RETURN_IF_ERROR(sink_->erase(row.session));
      continue;
    }
    log::info("secagg_session_restored").kv("session", row.session).kv("version", c.base_version);
    cohorts_.emplace(row.session, std::move(c));
    ++counters_.restored;
  }
  return Status::ok();
}

Result<std::string> SecAggService::open_cohort(int64_t base_version) {
  auto id = new_session_id(base_version);
  if (!id.is_ok()) return id.status();
  Cohort c;
  c.base_version = base_version;
  c.size = static_cast<size_t>(updates_per_version(options_));
  const auto layout = engine_.layout();
  // The row first (what restore() needs besides the snapshot), then the
  // coordinator's first snapshot: a crash between them leaves a row that
  // restore() drops.
  EDGEFED_RETURN_IF_ERROR(
      sink_->put_info(*id, json{{"base_version", base_version}, {"cohort_size", c.size}}.dump()));
  EDGEFED_RETURN_IF_ERROR(coordinator_->open(*id, static_cast<uint64_t>(layout->size()), c.size));
  log::info("secagg_session_opened").kv("session", *id).kv("version", base_version).kv("cohort_size", c.size);
  cohorts_.emplace(*id, std::move(c));
  ++counters_.opened;
  return id;
}

Result<json> SecAggService::join(const std::string& agent, int64_t base_version) {
  const int64_t current = engine_.current_model().version;
  if (base_version != current) {
    return Status(Code::kConflict, "sessions are for version " + std::to_string(current) + ", not " +
                                       std::to_string(base_version) + ": fetch the model again and join");
  }
  std::lock_guard lock(mu_);
  std::string session;
  for (const auto& [id, c] : cohorts_) {
    if (c.agents.count(agent) && c.base_version == base_version) session = id;
  }
  if (session.empty()) {
    if (filling_) {
      auto it = cohorts_.find(*filling_);
      if (it == cohorts_.end() || it->second.closed || it->second.base_version != base_version) close_filling();
    }
    if (!filling_) {
      if (options_.mode == MergeMode::kSync) {
        for (const auto& [id, c] : cohorts_) {
          if (c.base_version == base_version) {
            // A normal answer, not an error: nothing is wrong with the
            // agent or the link, it just waits for the next version.
            return json{{"type", "round_full"},
                        {"base_version", base_version},
                        {"reason", "round " + std::to_string(base_version) +
                                       " is full: join the next round once its version is out"}};
          }
        }
      }
      auto id = open_cohort(base_version);
      if (!id.is_ok()) return id.status();
      filling_ = *id;
    }
    Cohort& c = cohorts_.at(*filling_);
    c.agents.insert(agent);
    session = *filling_;
    if (c.agents.size() >= c.size) {
      c.closed = true;
      filling_.reset();
    }
  }
  const Cohort& c = cohorts_.at(session);
  return json{{"type", "joined"},
              {"session", session},
              {"base_version", c.base_version},
              {"cohort_size", c.size},
              {"vector_length", engine_.layout()->size()},
              {"clip", options_.secagg_clip},
              {"phase_timeout_s", options_.secagg_phase_timeout_s}};
}

void SecAggService::close_filling() {
  if (!filling_) return;
  auto it = cohorts_.find(*filling_);
  if (it != cohorts_.end() && !it->second.closed) {
    it->second.closed = true;
    // Nobody else can join it (joins are for the newest version only):
    // wait for the agents it has, not for the deadline.
    if (Status st = coordinator_->set_expected(*filling_, it->second.agents.size()); !st.is_ok())
      log::warn("secagg_cohort_not_closed").kv("session", *filling_).kv("error", st.to_string());
  }
  filling_.reset();
}

Status SecAggService::post(const std::string& agent, const json& message) {
  Status st = coordinator_->post(agent, message);
  if (st.code() == Code::kNotFound && message.is_object() && message.contains("session") &&
      message["session"].is_string()) {
    std::lock_guard lock(mu_);
    if (auto it = ended_.find(message["session"].get<std::string>()); it != ended_.end()) {
      return Status(Code::kConflict, "secure aggregation session '" + it->first + "' has ended (" +
                                         it->second.answer.value("type", std::string()) + ")");
    }
  }
  if (st.is_ok()) tick();  // a phase may have closed: merge at once rather than at the next tick
  return st;
}

Result<json> SecAggService::next(const std::string& agent, const std::string& session) {
  {
    std::lock_guard lock(mu_);
    if (auto it = ended_.find(session); it != ended_.end()) {
      if (it->second.answer["type"] == "done" && !it->second.survivors.count(SecAggCoordinator::agent_id_of(agent)))
        return json{{"type", "excluded"}, {"phase", "done"}};
      return it->second.answer;
    }
  }
  auto next = coordinator_->next(agent, session);
  // The protocol is done but the engine has not merged the sum yet (or may
  // refuse it, e.g. too stale): "done" only once it is in a version.
  if (next && (*next)["type"] == "done") return json{{"type", "wait"}, {"phase", "merging"}};
  return next;
}

void SecAggService::tick() {
  std::lock_guard one(tick_mu_);
  std::deque<SecAggCoordinator::Finished> work;
  const int64_t current = engine_.current_model().version;
  {
    std::lock_guard lock(mu_);
    work.swap(unmerged_);
    // A cohort for an older version takes nobody any more.
    if (filling_) {
      auto it = cohorts_.find(*filling_);
      if (it == cohorts_.end() || it->second.base_version != current) close_filling();
    }
  }
  for (auto& f : coordinator_->tick()) work.push_back(std::move(f));
  for (const auto& f : work) finish(f);
}

void SecAggService::finish(const SecAggCoordinator::Finished& f) {
  int64_t base_version = 0;
  {
    std::lock_guard lock(mu_);
    auto it = cohorts_.find(f.session);
    if (it != cohorts_.end()) base_version = it->second.base_version;
  }
  json answer;
  std::set<sa::AgentId> survivors;
  if (f.result.is_ok()) {
    survivors.insert(f.result->survivors.begin(), f.result->survivors.end());
    auto ack = engine_.submit_aggregate(f.session, base_version, f.result->mean, f.result->survivor_samples);
    if (!ack.is_ok()) {
      log::warn("secagg_merge_failed").kv("session", f.session).kv("error", ack.status().to_string());
      if (ack.status().code() == Code::kUnavailable) {
        std::lock_guard lock(mu_);
        unmerged_.push_back(f);  // the store or the queue: try again at the next tick
        return;
      }
      answer = json{{"type", "aborted"}, {"reason", "the server could not merge the sum: " + ack.status().message()}};
    } else {
      answer = json{{"type", "done"}, {"survivors", f.result->survivors.size()}, {"version", ack->version + 1}};
      log::info("secagg_session_merged")
          .kv("session", f.session)
          .kv("version", ack->version)
          .kv("survivors", f.result->survivors.size())
          .kv("samples", f.result->survivor_samples)
          .kv("duplicate", ack->duplicate);
    }
  } else {
    answer = json{{"type", "aborted"}, {"reason", f.result.status().message()}};
    log::warn("secagg_session_aborted").kv("session", f.session).kv("reason", f.result.status().message());
  }
  if (Status st = coordinator_->forget(f.session); !st.is_ok()) {
    // Stays stored: the next start merges it again (a duplicate) and erases it.
    log::warn("secagg_forget_failed").kv("session", f.session).kv("error", st.to_string());
  }
  std::lock_guard lock(mu_);
  if (answer["type"] == "done") ++counters_.merged; else ++counters_.aborted;
  cohorts_.erase(f.session);
  if (filling_ == f.session) filling_.reset();
  remember_end(f.session, std::move(answer), std::move(survivors));
}

void SecAggService::remember_end(const std::string& session, json answer, std::set<sa::AgentId> survivors) {
  if (ended_.emplace(session, Ended{std::move(answer), std::move(survivors)}).second) ended_order_.push_back(session);
  while (ended_order_.size() > kEndedKept) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

SecAggService::Counters SecAggService::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace edgefed::server
