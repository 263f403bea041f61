#include "server/engine/version_loader.hpp"

#include <algorithm>
#include <utility>

#include "edgefed/log.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/update_codec.hpp"
#include "server/engine/body_digest.hpp"
#include "server/engine/state_store_opener.hpp"

namespace edgefed::server {

namespace {

std::span<const uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Result<std::optional<VersionRecord>> VersionLoader::newest() { return store_.versions().newest(); }

Result<LoadedCheckpoint> VersionLoader::newest_checkpoint(const VersionRecord& record) {
  auto ck = store_.versions().checkpoint(record.version);
  if (!ck.is_ok()) return ck.status();
  if (!ck->has_value()) return Status(Code::kIo, "the newest version " + std::to_string(record.version) + " has no checkpoint");
  auto bytes = std::make_shared<const std::string>(std::move(**ck));
  auto decoded = decode_model(as_span(*bytes));
  if (!decoded.is_ok()) {
    return Status(Code::kIo, "cannot load the newest version " + std::to_string(record.version) + ": " +
                                 decoded.status().message());
  }
  Model model = std::move(decoded->model);
  if (ml::upgrade_legacy_mlp(model)) {
    // A state directory written before model specs: the same values under
    // PyTorch's names, served (and checkpointed from now on) with the spec.
    bytes = std::make_shared<const std::string>(encode_model(model, record.version));
    log::info("legacy_model_upgraded").kv("version", record.version).kv("layout", model.layout.describe());
  }
  return LoadedCheckpoint{std::move(bytes), std::move(model)};
}

Result<std::vector<VersionRecord>> VersionLoader::history() {
  const int64_t keep = std::max<int64_t>(options_.status_history, options_.max_staleness + 2);
  return store_.versions().history(keep);
}

Result<std::vector<AgentRecord>> VersionLoader::agents() { return store_.agents().load_all(); }

Result<LedgerCounts> VersionLoader::ledger_counts() {
  auto accepted = store_.ledger().count_accepted();
  if (!accepted.is_ok()) return accepted.status();
  auto merged = store_.ledger().count_merged();
  if (!merged.is_ok()) return merged.status();
  return LedgerCounts{*accepted, *merged};
}

Result<int64_t> VersionLoader::replay_pending(int64_t version, const ModelLayout& layout,
                                              const StalenessFunction& staleness, const PendingSink& sink,
                                              const std::vector<int64_t>* only) {
  // Acknowledged but unmerged updates go back into the buffer with the
  // weights recorded at accept, so a restart merges them exactly once.
  const bool replicated = is_postgres_location(options_.store);
  int64_t replayed = 0;
  std::vector<int64_t> undecodable;
  // Updates acknowledged before a legacy MLP state was upgraded carry its
  // old tensor names; their values are in the same order.
  const std::optional<ModelLayout> legacy = ml::legacy_mlp_layout(layout);
  auto feed = [&](const LedgerEntry& e, std::span<const uint8_t> payload) -> Status {
    int64_t tau = e.staleness;
    double weight = e.weight;
    if (e.accepted_version != version) {
      if (!replicated || e.accepted_version > version) {
        return Status(Code::kInternal, "pending update " + e.agent + "/" + e.update_id + " was accepted at version " +
                                           std::to_string(e.accepted_version) + " but the newest version is " +
                                           std::to_string(version));
      }
      // Another replica accepted it before it had loaded `version`: the
      // staleness it will be merged with is counted from here.
      tau = version - e.base_version;
      weight = static_cast<double>(e.num_samples) * staleness(tau);
    }
    if (!pending_body_intact(e, payload)) {
      log::warn("pending_update_lost").kv("agent", e.agent).kv("update_id", e.update_id).kv("version", version)
          .kv("reason", "its body did not reach the update spool's disk before a crash (never acknowledged)");
      undecodable.push_back(e.id);
      return Status::ok();
    }
    auto u = decode_update(payload, layout);
    if (!u.is_ok() && legacy) {
      auto old = decode_update(payload, *legacy);
      if (old.is_ok()) u = std::move(old);
    }
    if (!u.is_ok()) {
      if (replicated) {
        log::warn("pending_update_discarded").kv("agent", e.agent).kv("update_id", e.update_id)
            .kv("version", version).kv("reason", u.status().message());
        undecodable.push_back(e.id);
        return Status::ok();
      }
      return Status(Code::kIo, "pending update " + e.agent + "/" + e.update_id +
                                   " no longer decodes: " + u.status().message());
    }
    // The row's norm2 is what the live path passed (IncomingUpdate::norm2):
    // a replayed buffer reports the same gradient variance.
    sink.aggregator.add({u->delta, weight, e.train_loss, staleness(tau), e.norm2});
    sink.ids.push_back(e.id);
    // Accepted, so it parsed and fitted the pool then.
    if (!u->meta.normalizer.empty()) {
      if (auto n = ml::Normalizer::parse(u->meta.normalizer); n.is_ok())
        (void)sink.normalizers.add(*n, static_cast<double>(u->meta.num_samples));
    }
    ++replayed;
    return Status::ok();
  };
  EDGEFED_RETURN_IF_ERROR(only ? store_.ledger().for_each_pending_of(*only, feed)
                               : store_.ledger().for_each_pending(feed));
  if (!undecodable.empty()) {
    auto dropped = store_.ledger().consume(kDiscarded, undecodable);
    if (!dropped.is_ok()) return dropped.status();
  }
  if (replayed > 0 && !only) log::info("ledger_replayed").kv("updates", replayed).kv("version", version);
  return replayed;
}

Result<Model> VersionLoader::initial_model() {
  auto spec = ml::ModelSpec::load(options_.model_init);
  if (!spec.is_ok()) return Status(Code::kInvalidArgument, "model_init: " + spec.status().message());
  return spec->init(options_.init_seed);
}

Result<Model> VersionLoader::load_version(int64_t version) {
  auto ck = store_.versions().checkpoint(version);
  if (!ck.is_ok()) return ck.status();
  if (!ck->has_value()) {
    return Status(Code::kNotFound, "version " + std::to_string(version) + " has no checkpoint (unknown or pruned)");
  }
  auto decoded = decode_model(as_span(**ck));
  if (!decoded.is_ok()) return decoded.status();
  ml::upgrade_legacy_mlp(decoded->model);
  return std::move(decoded->model);
}

}  // namespace edgefed::server
