#include "server/engine/version_loader.hpp"

#include <algorithm>
#include <utility>

#include "edgefed/log.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/update_codec.hpp"

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

Status VersionLoader::replay_pending(int64_t version, const ModelLayout& layout, const StalenessFunction& staleness,
                                     Aggregator& aggregator, ml::NormalizerPool& normalizers) {
  // Acknowledged but unmerged updates go back into the buffer with the
  // weights recorded at accept, so a restart merges them exactly once.
  int64_t replayed = 0;
  // Updates acknowledged before a legacy MLP state was upgraded carry its
  // old tensor names; their values are in the same order.
  const std::optional<ModelLayout> legacy = ml::legacy_mlp_layout(layout);
  EDGEFED_RETURN_IF_ERROR(store_.ledger().for_each_pending(
      [&](const LedgerEntry& e, std::span<const uint8_t> payload) -> Status {
        if (e.accepted_version != version) {
          return Status(Code::kInternal, "pending update " + e.agent + "/" + e.update_id + " was accepted at version " +
                                             std::to_string(e.accepted_version) + " but the newest version is " +
                                             std::to_string(version));
        }
        auto u = decode_update(payload, layout);
        if (!u.is_ok() && legacy) {
          auto old = decode_update(payload, *legacy);
          if (old.is_ok()) u = std::move(old);
        }
        if (!u.is_ok()) {
          return Status(Code::kIo, "pending update " + e.agent + "/" + e.update_id +
                                       " no longer decodes: " + u.status().message());
        }
        aggregator.add({u->delta, e.weight, e.train_loss, staleness(e.staleness)});
        // Accepted, so it parsed and fitted the pool then.
        if (!u->meta.normalizer.empty()) {
          if (auto n = ml::Normalizer::parse(u->meta.normalizer); n.is_ok())
            (void)normalizers.add(*n, static_cast<double>(u->meta.num_samples));
        }
        ++replayed;
        return Status::ok();
      }));
  if (replayed > 0) log::info("ledger_replayed").kv("updates", replayed).kv("version", version);
  return Status::ok();
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
