#include "server/engine/version_keeper.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "edgefed/log.hpp"
#include "edgefed/model_io.hpp"
#include "server/engine/body_digest.hpp"
#include "server/engine/state_store_opener.hpp"
#include "server/engine/relay_batcher.hpp"
#include "server/engine/version_loader.hpp"

namespace edgefed::server {

namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Result<std::unique_ptr<VersionKeeper>> VersionKeeper::open(const EngineOptions& options, Clock& clock,
                                                           AgentRegistry& agents) {
  std::unique_ptr<VersionKeeper> k(new VersionKeeper(options, clock, agents));
  // The strategy objects, built once for the keeper's life: recover() and
  // commit_version() reset them (a new layout, a rollback), never rebuild.
  auto fn = StalenessFunction::create(options.staleness_fn, options.staleness_a, options.staleness_b);
  if (!fn.is_ok()) return fn.status();
  k->staleness_ = *fn;
  auto opt = make_server_optimizer(server_optimizer_options(options));
  if (!opt.is_ok()) return opt.status();
  k->optimizer_ = std::move(opt).value();
  auto agg = make_aggregator(aggregator_options(options), 0);  // sized by recover() once the layout is known
  if (!agg.is_ok()) return agg.status();
  k->aggregator_ = std::move(agg).value();
  auto store = open_state_store(options, clock);
  if (!store.is_ok()) return store.status();
  k->store_ = std::move(store).value();
  // Replicas of a shared database merge only once elected.
  // Relays never do.
  k->merging_ = !is_postgres_location(options.store) && !options.relay;
  EDGEFED_RETURN_IF_ERROR(k->recover());
  return k;
}

Status VersionKeeper::recover() {
  // After a lost database connection, the reads below need a new one.
  EDGEFED_RETURN_IF_ERROR(store_->reconnect());
  effects_ = {};
  history_.clear();
  created_ms_.clear();
  optimizer_->reset();
  EDGEFED_RETURN_IF_ERROR(channels_.load(store_->channels()));
  if (options_.relay) {
    // What the relay accepted and has not forwarded yet (none when fresh).
    if (!relay_batcher_) relay_batcher_ = std::make_unique<RelayBatcher>(*store_, options_);
    EDGEFED_RETURN_IF_ERROR(relay_batcher_->rebuild());
  }
  VersionLoader loader(*store_, options_);
  auto newest = loader.newest();
  if (!newest.is_ok()) return newest.status();
  if (!newest->has_value()) {
    Status st = create_initial_version();
    // Replicas starting together on an empty database: one of them wrote
    // version 0 first; load it.
    if (st.code() == Code::kConflict && is_postgres_location(options_.store)) return recover();
    return st;
  }

  record_ = **newest;
  auto ck = loader.newest_checkpoint(record_);
  if (!ck.is_ok()) return ck.status();
  model_ = std::move(ck->model);
  layout_ = std::make_shared<const ModelLayout>(model_.layout);
  if (Status st = optimizer_->restore(record_.optimizer_state); !st.is_ok()) {
    // Another optimizer wrote it (the operator switched --server-optimizer):
    // its moments mean nothing to this one, so it starts fresh, as after a
    // rollback.
    log::warn("optimizer_state_reset").kv("optimizer", std::string(optimizer_->name())).kv("reason", st.message());
  }
  snapshot_ = {record_.version, std::move(ck->bytes),
               "\"v" + std::to_string(record_.version) + "-" + layout_->fingerprint() + "\""};

  auto history = loader.history();
  if (!history.is_ok()) return history.status();
  for (const auto& r : *history) remember(r);

  auto agents = loader.agents();
  if (!agents.is_ok()) return agents.status();
  agents_.load(*agents);
  auto counts = loader.ledger_counts();
  if (!counts.is_ok()) return counts.status();
  updates_accepted_ = counts->accepted;
  updates_merged_ = counts->merged;
  return replay_pending();
}

Status VersionKeeper::replay_pending() {
  // The round / buffer timer restarts now.
  aggregator_->reset(static_cast<size_t>(layout_->size()));
  normalizers_.reset();
  buffered_ids_.clear();
  opened_at_s_ = clock_.monotonic_s();
  if (!merging_) return Status::ok();  // a follower buffers nothing
  auto fed = VersionLoader(*store_, options_).replay_pending(record_.version, *layout_, staleness_,
                                                             {*aggregator_, normalizers_, buffered_ids_});
  return fed.status();
}

Result<int64_t> VersionKeeper::absorb_pending() {
  if (!merging_) return int64_t{0};
  auto pending = store_->ledger().pending_ids();
  if (!pending.is_ok()) return pending.status();
  std::vector<int64_t> known = buffered_ids_;
  std::sort(known.begin(), known.end());
  std::vector<int64_t> fresh;
  std::set_difference(pending->begin(), pending->end(), known.begin(), known.end(), std::back_inserter(fresh));
  if (fresh.empty()) return int64_t{0};
  const bool was_empty = aggregator_->count() == 0;
  auto fed = VersionLoader(*store_, options_).replay_pending(record_.version, *layout_, staleness_,
                                                             {*aggregator_, normalizers_, buffered_ids_}, &fresh);
  if (!fed.is_ok()) return fed.status();
  if (*fed > 0 && was_empty && options_.mode == MergeMode::kAsync) opened_at_s_ = clock_.monotonic_s();
  updates_accepted_ += *fed;
  return fed;
}

Status VersionKeeper::create_initial_version() {
  Result<Model> model = Status(Code::kInternal, "no model");
  VersionRecord r;
  r.version = 0;
  r.kind = "init";
  if (options_.relay && !options_.relay_initial_model.empty()) {
    // A fresh relay starts from the central server's model and number.
    auto decoded = decode_model(as_bytes(options_.relay_initial_model));
    if (!decoded.is_ok()) return Status(Code::kUnavailable, "the central model: " + decoded.status().message());
    model = std::move(decoded->model);
    r.version = options_.relay_initial_version;
    r.kind = "upstream";
  } else {
    model = VersionLoader(*store_, options_).initial_model();
  }
  if (!model.is_ok()) return model.status();
  layout_ = std::make_shared<const ModelLayout>(model->layout);
  aggregator_->reset(static_cast<size_t>(layout_->size()));
  buffered_ids_.clear();
  agents_.load({});
  updates_accepted_ = updates_merged_ = 0;
  EDGEFED_RETURN_IF_ERROR(begin());
  Status st = commit_version(std::move(r), std::move(model).value());
  if (st.is_ok()) st = commit();
  if (!st.is_ok()) {
    store_->rollback();
    return st;
  }
  effects_ = {};
  log::info("model_initialised").kv("layout", layout_->describe()).kv("seed", options_.init_seed);
  return Status::ok();
}

Status VersionKeeper::begin() { return store_->begin(); }

Status VersionKeeper::commit() { return store_->commit(); }

Status VersionKeeper::abort() {
  store_->rollback();
  return recover();
}

Result<Model> VersionKeeper::load_version(int64_t version) {
  return VersionLoader(*store_, options_).load_version(version);
}

KeeperEffects VersionKeeper::take_effects() { return std::exchange(effects_, {}); }

Result<UpdateAck> VersionKeeper::accept(const IncomingUpdate& u) {
  auto existing = store_->ledger().find(u.meta.agent_id, u.meta.update_id);
  if (!existing.is_ok()) return existing.status();
  if (existing->has_value()) {
    const LedgerEntry& e = **existing;
    if (!digest_matches(e.body_digest, u.body, u.body_digest)) {
      return Status(Code::kConflict, "update_id " + u.meta.update_id + " was already used for another body");
    }
    // The original answer: same version, staleness and weight.
    return UpdateAck{e.accepted_version, e.staleness, e.weight, true};
  }
  if (u.layout_fingerprint != layout_->fingerprint()) {
    return Status(Code::kDimensionMismatch, "the model layout changed to " + layout_->describe() +
                                                " while the update was decoded");
  }
  const int64_t v = record_.version;
  if (u.meta.base_version > v && !merging_) {
    // A replica that has not loaded that version yet (another one served
    // it): it will have within a poll.
    return Status(Code::kUnavailable, "this replica has not loaded version " + std::to_string(u.meta.base_version) +
                                          " yet (it has " + std::to_string(v) + "); retry");
  }
  if (u.meta.base_version > v) {
    return Status(Code::kInvalidArgument, "base_version " + std::to_string(u.meta.base_version) +
                                              " is newer than the server's version " + std::to_string(v));
  }
  const int64_t tau = v - u.meta.base_version;
  if (tau > options_.max_staleness) {
    return Status(Code::kTooStale, "update is " + std::to_string(tau) + " versions old, max_staleness is " +
                                       std::to_string(options_.max_staleness));
  }
  if (options_.mode == MergeMode::kSync && options_.sync_stale_policy == SyncStalePolicy::kRefuse && tau > 0) {
    return Status(Code::kTooStale, "round " + std::to_string(v) + " accepts updates for version " +
                                       std::to_string(v) + " only, got base_version " +
                                       std::to_string(u.meta.base_version));
  }
  // Checked before anything is written; pooled once the ledger holds it.
  std::optional<ml::Normalizer> normalizer;
  if (!u.meta.normalizer.empty()) {
    auto n = ml::Normalizer::parse(u.meta.normalizer);
    if (!n.is_ok()) return Status(Code::kInvalidArgument, "update metadata.normalizer: " + n.status().message());
    if (!normalizers_.empty() && n->channels() != normalizers_.channels())
      return Status(Code::kInvalidArgument, "update metadata.normalizer has " + std::to_string(n->channels()) +
                                                " channels, the buffered updates' " +
                                                std::to_string(normalizers_.channels()));
    normalizer = std::move(n).value();
  }
  const UpdateAck ack{v, tau, static_cast<double>(u.meta.num_samples) * staleness_(tau), false};
  const int64_t now_ms = clock_.unix_ms();
  LedgerEntry e;
  e.agent = u.meta.agent_id;
  e.update_id = u.meta.update_id;
  e.body_digest = u.body_digest;
  e.accepted_unix_ms = now_ms;
  e.accepted_version = v;
  e.base_version = u.meta.base_version;
  e.num_samples = u.meta.num_samples;
  e.train_loss = u.meta.train_loss;
  e.staleness = tau;
  e.weight = ack.weight;
  e.norm2 = u.norm2;
  e.ack_json = to_json(ack).dump();
  e.spooled = u.spooled;
  auto id = store_->ledger().insert(e, u.body);
  if (!id.is_ok()) return id.status().code() == Code::kConflict ? Status(Code::kInternal, id.status().message())
                                                                : id.status();
  if (!u.aggregate) {
    EDGEFED_RETURN_IF_ERROR(store_->agents().touch(e.agent, now_ms, 1, tau, 0));
    agents_.touch(e.agent, now_ms, 1, tau, 0);
  }
  ++updates_accepted_;
  auto created = created_ms_.find(u.meta.base_version);
  const double age = created == created_ms_.end() ? 0.0 : (now_ms - created->second) / 1000.0;
  effects_.accepted.push_back({tau, age});
  if (relay_batcher_) relay_batcher_->add(e.base_version, *id, now_ms);
  // A follower's update is buffered by the leader (absorb_pending).
  if (!merging_) return ack;
  if (options_.mode == MergeMode::kAsync && aggregator_->count() == 0) opened_at_s_ = clock_.monotonic_s();
  // A secure aggregation session's mean is weighted like any update: its
  // weight (samples x s(tau)) counts relative to what else is buffered, so
  // a cohort merged alone takes a full step, like a plain buffer of equally
  // stale updates (scaling the mean by s(tau) as well kept async 1.7 points
  // behind plain at the same version count).
  aggregator_->add({u.delta, ack.weight, u.meta.train_loss, staleness_(tau), u.norm2});
  buffered_ids_.push_back(*id);
  if (normalizer) (void)normalizers_.add(*normalizer, static_cast<double>(u.meta.num_samples));
  return ack;
}

bool VersionKeeper::merge_due() const {
  const int64_t n = aggregator_->count();
  if (n == 0 || !merging_) return false;
  // Secure aggregation: every buffered entry is a whole session's mean.
  if (options_.secure_aggregation != SecureAggregation::kOff) return true;
  // Multi-Krum cannot merge fewer than 2f + 3: a version closing by time
  // waits for them (validate() makes K itself large enough).
  if (n < aggregator_->min_count()) return false;
  const double waited = clock_.monotonic_s() - opened_at_s_;
  if (options_.mode == MergeMode::kSync) {
    if (n >= options_.min_updates) return true;
    return options_.round_timeout_s > 0 && waited >= options_.round_timeout_s &&
           n >= options_.min_updates_on_timeout;
  }
  if (n >= options_.buffer_k) return true;
  return options_.buffer_timeout_s > 0 && waited >= options_.buffer_timeout_s;
}

Result<bool> VersionKeeper::merge_if_due() {
  if (!merge_due()) return false;
  EDGEFED_RETURN_IF_ERROR(merge());
  return true;
}

Status VersionKeeper::merge() {
  if (!merging_) return Status(Code::kUnavailable, "this replica does not lead: it merges nothing");
  const auto t0 = std::chrono::steady_clock::now();
  auto agg = aggregator_->finish(record_.version + 1);  // the version's noise stream (DP)
  if (!agg.is_ok()) return agg.status();
  Model next = model_;
  optimizer_->apply(next.params, agg->delta);
  if (!normalizers_.empty()) next.normalizer = normalizers_.result().to_string();
  VersionRecord r;
  r.version = record_.version + 1;
  r.parent = record_.version;
  r.kind = "merge";
  r.num_updates = agg->count;
  r.total_weight = agg->total_weight;
  r.train_loss = agg->weighted_loss;
  r.gradient_variance = agg->gradient_variance;
  r.optimizer_state = optimizer_->state();
  // Exactly the rows buffered, by id: rows other replicas commit meanwhile
  // stay pending for the next version.
  auto consumed = store_->ledger().consume(r.version, buffered_ids_);
  if (!consumed.is_ok()) return consumed.status();
  if (*consumed != agg->count || static_cast<int64_t>(buffered_ids_.size()) != agg->count) {
    // The buffer and the ledger disagree (or another replica merged some of
    // these rows): never commit such a version.
    return Status(Code::kInternal, "buffer holds " + std::to_string(agg->count) + " updates, " +
                                       std::to_string(*consumed) + " of its ledger rows were pending");
  }
  r.merge_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EDGEFED_RETURN_IF_ERROR(commit_version(std::move(r), std::move(next)));
  updates_merged_ += agg->count;
  effects_.merged.push_back({agg->clipped, agg->noise_stddev});
  return Status::ok();
}

Status VersionKeeper::adopt_upstream(int64_t version, Model model) {
  if (version <= record_.version) return Status::ok();
  VersionRecord r;
  r.version = version;
  r.parent = record_.version;
  r.kind = "upstream";
  return commit_version(std::move(r), std::move(model));
}

bool VersionKeeper::relay_batches_due() const {
  return relay_batcher_ && relay_batcher_->due(clock_.unix_ms());
}

Result<int64_t> VersionKeeper::form_relay_batches(bool force) {
  if (!relay_batcher_) return Status(Code::kUnprocessable, "this server is no relay");
  return relay_batcher_->form(*layout_, clock_.unix_ms(), force);
}

Status VersionKeeper::replace_model(Model model, const std::string& kind, int64_t parent) {
  auto dropped = store_->ledger().consume_pending(kDiscarded);
  if (!dropped.is_ok()) return dropped.status();
  if (*dropped > 0) {
    log::warn("pending_updates_discarded").kv("count", *dropped).kv("reason", kind);
  }
  optimizer_->reset();
  VersionRecord r;
  r.version = record_.version + 1;
  r.parent = parent;
  r.kind = kind;
  r.optimizer_state = optimizer_->state();
  return commit_version(std::move(r), std::move(model));
}

Status VersionKeeper::commit_version(VersionRecord r, Model model) {
  const auto t0 = std::chrono::steady_clock::now();
  r.created_unix_ms = clock_.unix_ms();
  r.layout_fingerprint = model.layout.fingerprint();
  auto bytes = std::make_shared<const std::string>(encode_model(model, r.version));
  EDGEFED_RETURN_IF_ERROR(store_->versions().insert(r, as_bytes(*bytes)));
  auto pruned = store_->versions().prune(r.version, options_.keep_last_n, options_.keep_every_m);
  if (!pruned.is_ok()) return pruned.status();
  r.merge_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!layout_ || !(model.layout == *layout_)) layout_ = std::make_shared<const ModelLayout>(model.layout);
  model_ = std::move(model);
  aggregator_->reset(static_cast<size_t>(layout_->size()));
  normalizers_.reset();
  buffered_ids_.clear();
  opened_at_s_ = clock_.monotonic_s();
  snapshot_ = {r.version, std::move(bytes), "\"v" + std::to_string(r.version) + "-" + layout_->fingerprint() + "\""};
  record_ = r;
  remember(r);
  r.optimizer_state.clear();
  effects_.versions.push_back(std::move(r));
  return Status::ok();
}

void VersionKeeper::remember(const VersionRecord& r) {
  history_.push_back(r);
  // The optimizer state (up to 2 floats per parameter) is only read back
  // from the newest row at start; history need not hold copies.
  history_.back().optimizer_state.clear();
  history_.back().optimizer_state.shrink_to_fit();
  const size_t keep = static_cast<size_t>(std::max<int64_t>(options_.status_history, 1));
  if (history_.size() > keep) history_.erase(history_.begin(), history_.begin() + (history_.size() - keep));
  created_ms_[r.version] = r.created_unix_ms;
  while (static_cast<int64_t>(created_ms_.size()) > options_.max_staleness + 2) created_ms_.erase(created_ms_.begin());
}

}  // namespace edgefed::server
