#include "server/engine/relay_batcher.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgefed/log.hpp"
#include "edgefed/ml/normalizer.hpp"
#include "edgefed/update_codec.hpp"
#include "server/engine/body_digest.hpp"
#include "server/store/records.hpp"
#include "server/store/relay_batch_table.hpp"

namespace edgefed::server {

Status RelayBatcher::rebuild() {
  by_base_.clear();
  if (store_.relay_batches() == nullptr) return Status(Code::kUnprocessable, "this server is no relay");
  return store_.ledger().for_each_pending([&](const LedgerEntry& e, std::span<const uint8_t>) {
    add(e.base_version, e.id, e.accepted_unix_ms);
    return Status::ok();
  });
}

void RelayBatcher::add(int64_t base_version, int64_t ledger_id, int64_t accepted_unix_ms) {
  Base& b = by_base_[base_version];
  b.ids.push_back(ledger_id);
  b.accepted_ms.push_back(accepted_unix_ms);
}

int64_t RelayBatcher::pending() const {
  int64_t n = 0;
  for (const auto& [base, b] : by_base_) n += static_cast<int64_t>(b.ids.size());
  return n;
}

// A base's own clock, not the oldest row overall: one slow base must not
// flush the young partial chunks of the others.
bool RelayBatcher::base_due(const Base& b, int64_t now_ms) const {
  if (static_cast<int64_t>(b.ids.size()) >= chunk_size()) return true;
  return waited_flush(b, now_ms);
}

bool RelayBatcher::waited_flush(const Base& b, int64_t now_ms) const {
  if (!uplink_up_ || b.accepted_ms.empty()) return false;
  const int64_t oldest = *std::min_element(b.accepted_ms.begin(), b.accepted_ms.end());
  return now_ms - oldest >= static_cast<int64_t>(options_.relay_flush_s * 1000);
}

void RelayBatcher::set_uplink_up(bool up) {
  if (!up) held_ = true;
  uplink_up_ = up;
}

bool RelayBatcher::due(int64_t now_ms) const {
  if (uplink_up_ && held_) return true;  // back from a cut: send what it held
  for (const auto& [base, b] : by_base_)
    if (base_due(b, now_ms)) return true;
  return false;
}

Result<int64_t> RelayBatcher::form(const ModelLayout& layout, int64_t now_ms, bool force) {
  if (store_.relay_batches() == nullptr) return Status(Code::kUnprocessable, "this server is no relay");
  const size_t k = static_cast<size_t>(chunk_size());
  int64_t formed = 0;
  for (auto it = by_base_.begin(); it != by_base_.end();) {
    const int64_t base = it->first;
    Base& pending = it->second;
    // Full chunks go at once; the rest waits for more updates of its base
    // until the oldest of them waited relay_flush_s (or force), and while
    // the uplink is down, until it is back.
    const bool flush = force || (uplink_up_ && held_) || waited_flush(pending, now_ms);
    size_t from = 0;
    for (; from < pending.ids.size(); from += k) {
      const size_t to = std::min(pending.ids.size(), from + k);
      if (!flush && to - from < k) break;
      const std::vector<int64_t> chunk(pending.ids.begin() + static_cast<std::ptrdiff_t>(from),
                                       pending.ids.begin() + static_cast<std::ptrdiff_t>(to));
      auto wrote = write_batch(layout, base, chunk, now_ms);
      if (!wrote.is_ok()) return wrote.status();
      if (*wrote) ++formed;
    }
    if (from >= pending.ids.size()) {
      it = by_base_.erase(it);
      continue;
    }
    // What is left of this base waits on the clock of its own oldest row.
    pending.ids.erase(pending.ids.begin(), pending.ids.begin() + static_cast<std::ptrdiff_t>(from));
    pending.accepted_ms.erase(pending.accepted_ms.begin(),
                              pending.accepted_ms.begin() + static_cast<std::ptrdiff_t>(from));
    ++it;
  }
  if (uplink_up_) held_ = false;
  return formed;
}

Result<bool> RelayBatcher::write_batch(const ModelLayout& layout, int64_t base, const std::vector<int64_t>& chunk,
                                       int64_t now_ms) {
  RelayBatchTable* outbox = store_.relay_batches();
    // Then the chunk's bodies, decoded once.
  std::vector<double> sum(static_cast<size_t>(layout.size()), 0.0);
  double samples = 0, loss = 0;
  ml::NormalizerPool pool;
  std::vector<int64_t> id_list, undecodable;
  EDGEFED_RETURN_IF_ERROR(store_.ledger().for_each_pending_of(
      chunk, [&](const LedgerEntry& e, std::span<const uint8_t> payload) -> Status {
        if (!pending_body_intact(e, payload)) {
          log::warn("pending_update_lost").kv("agent", e.agent).kv("update_id", e.update_id)
              .kv("reason", "its body did not reach the update spool's disk before a crash (never acknowledged)");
          undecodable.push_back(e.id);
          return Status::ok();
        }
        auto u = decode_update(payload, layout);
        if (!u.is_ok()) {
          log::warn("pending_update_discarded").kv("agent", e.agent).kv("update_id", e.update_id)
              .kv("reason", u.status().message());
          undecodable.push_back(e.id);
          return Status::ok();
        }
        const double n = static_cast<double>(e.num_samples);
        for (size_t j = 0; j < sum.size(); ++j) sum[j] += n * u->delta[j];
        samples += n;
        loss += n * e.train_loss;
        if (!u->meta.normalizer.empty()) {
          if (auto norm = ml::Normalizer::parse(u->meta.normalizer); norm.is_ok()) (void)pool.add(*norm, n);
        }
        id_list.push_back(e.id);
        return Status::ok();
      }));
  if (!undecodable.empty()) {
    auto dropped = store_.ledger().consume(kDiscarded, undecodable);
    if (!dropped.is_ok()) return dropped.status();
  }
  if (id_list.empty() || samples <= 0) return false;
  std::vector<float> mean(sum.size());
  for (size_t j = 0; j < sum.size(); ++j) mean[j] = static_cast<float>(sum[j] / samples);
  UpdateMetadata meta;
  meta.agent_id = options_.relay_agent_id;
  // Fixed by the ledger rows it sums: a batch sent again is a duplicate.
  meta.update_id = "relay-" + std::to_string(id_list.front()) + "-" + std::to_string(id_list.back()) + "-" +
                   std::to_string(id_list.size());
  meta.base_version = base;
  meta.num_samples = static_cast<int64_t>(samples);
  meta.train_loss = loss / samples;
  if (!pool.empty()) meta.normalizer = pool.result().to_string();
  auto body = encode_update(layout, mean, meta);
  if (!body.is_ok()) return body.status();
  RelayBatch b;
  b.update_id = meta.update_id;
  b.base_version = base;
  b.updates = static_cast<int64_t>(id_list.size());
  b.samples = meta.num_samples;
  b.ledger_ids = nlohmann::json(id_list).dump();
  b.body = std::move(body).value();
  b.created_unix_ms = now_ms;
  auto id = outbox->insert(b);
  if (!id.is_ok()) return id.status();
  auto consumed = store_.ledger().consume(kForwarded, id_list);
  if (!consumed.is_ok()) return consumed.status();
  if (*consumed != static_cast<int64_t>(id_list.size()))
    return Status(Code::kInternal, "relay batch: ledger rows consumed meanwhile");
  return true;
}

}  // namespace edgefed::server
