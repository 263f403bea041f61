// VersionKeeper: loading the state from the database (start-up and after an
// aborted transaction). Split from version_keeper.cpp to keep files small.
#include <algorithm>

#include "edgefed/log.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/update_codec.hpp"
#include "server/engine/version_keeper.hpp"

namespace edgefed::server {

namespace {

std::span<const uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Status VersionKeeper::recover() {
  effects_ = {};
  history_.clear();
  created_ms_.clear();
  optimizer_->reset();
  auto newest = store_->versions().newest();
  if (!newest.is_ok()) return newest.status();
  if (!newest->has_value()) return create_initial_version();

  record_ = **newest;
  auto ck = store_->versions().checkpoint(record_.version);
  if (!ck.is_ok()) return ck.status();
  if (!ck->has_value()) return Status(Code::kIo, "the newest version " + std::to_string(record_.version) + " has no checkpoint");
  auto bytes = std::make_shared<const std::string>(std::move(**ck));
  auto decoded = decode_model(as_span(*bytes));
  if (!decoded.is_ok()) {
    return Status(Code::kIo, "cannot load the newest version " + std::to_string(record_.version) + ": " +
                                 decoded.status().message());
  }
  model_ = std::move(decoded->model);
  layout_ = std::make_shared<const ModelLayout>(model_.layout);
  if (Status st = optimizer_->restore(record_.optimizer_state); !st.is_ok()) {
    // Another optimizer wrote it (the operator switched --server-optimizer):
    // its moments mean nothing to this one, so it starts fresh, as after a
    // rollback.
    log::warn("optimizer_state_reset").kv("optimizer", std::string(optimizer_->name())).kv("reason", st.message());
  }
  snapshot_ = {record_.version, std::move(bytes),
               "\"v" + std::to_string(record_.version) + "-" + layout_->fingerprint() + "\""};

  const int64_t keep = std::max<int64_t>(options_.status_history, options_.max_staleness + 2);
  auto history = store_->versions().history(keep);
  if (!history.is_ok()) return history.status();
  for (const auto& r : *history) remember(r);

  auto agents = store_->agents().load_all();
  if (!agents.is_ok()) return agents.status();
  agents_.load(*agents);
  auto accepted = store_->ledger().count_accepted();
  if (!accepted.is_ok()) return accepted.status();
  auto merged = store_->ledger().count_merged();
  if (!merged.is_ok()) return merged.status();
  updates_accepted_ = *accepted;
  updates_merged_ = *merged;
  return load_pending();
}

Status VersionKeeper::load_pending() {
  // Acknowledged but unmerged updates: feed them back into the buffer with
  // the weights recorded at accept. The round / buffer timer restarts now.
  aggregator_->reset(static_cast<size_t>(layout_->size()));
  opened_at_s_ = clock_.monotonic_s();
  int64_t replayed = 0;
  EDGEFED_RETURN_IF_ERROR(store_->ledger().for_each_pending(
      [&](const LedgerEntry& e, std::span<const uint8_t> payload) -> Status {
        if (e.accepted_version != record_.version) {
          return Status(Code::kInternal, "pending update " + e.agent + "/" + e.update_id + " was accepted at version " +
                                             std::to_string(e.accepted_version) + " but the newest version is " +
                                             std::to_string(record_.version));
        }
        auto u = decode_update(payload, *layout_);
        if (!u.is_ok()) {
          return Status(Code::kIo, "pending update " + e.agent + "/" + e.update_id +
                                       " no longer decodes: " + u.status().message());
        }
        aggregator_->add({u->delta, e.weight, e.train_loss, staleness_(e.staleness)});
        ++replayed;
        return Status::ok();
      }));
  if (replayed > 0) log::info("ledger_replayed").kv("updates", replayed).kv("version", record_.version);
  return Status::ok();
}

Status VersionKeeper::create_initial_version() {
  auto layout = ModelLayout::mlp(options_.model_init);
  if (!layout.is_ok()) return Status(Code::kInvalidArgument, "model_init: " + layout.status().message());
  Model model = init_mlp(*layout, options_.init_seed);
  layout_ = std::make_shared<const ModelLayout>(*layout);
  aggregator_->reset(static_cast<size_t>(layout_->size()));
  agents_.load({});
  updates_accepted_ = updates_merged_ = 0;
  VersionRecord r;
  r.version = 0;
  r.kind = "init";
  EDGEFED_RETURN_IF_ERROR(begin());
  Status st = commit_version(std::move(r), std::move(model));
  if (st.is_ok()) st = commit();
  if (!st.is_ok()) {
    store_->db().rollback();
    return st;
  }
  effects_ = {};
  log::info("model_initialised").kv("layout", layout_->describe()).kv("seed", options_.init_seed);
  return Status::ok();
}

Result<Model> VersionKeeper::load_version(int64_t version) {
  auto ck = store_->versions().checkpoint(version);
  if (!ck.is_ok()) return ck.status();
  if (!ck->has_value()) {
    return Status(Code::kNotFound, "version " + std::to_string(version) + " has no checkpoint (unknown or pruned)");
  }
  auto decoded = decode_model(as_span(**ck));
  if (!decoded.is_ok()) return decoded.status();
  return std::move(decoded->model);
}

}  // namespace edgefed::server
