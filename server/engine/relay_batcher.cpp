#include "server/engine/relay_batcher.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgefed/log.hpp"
#include "edgefed/ml/normalizer.hpp"
#include "edgefed/update_codec.hpp"
#include "server/store/records.hpp"
#include "server/store/relay_batch_table.hpp"

namespace edgefed::server {

Result<int64_t> RelayBatcher::form(const ModelLayout& layout, int64_t now_ms, bool force) {
  RelayBatchTable* outbox = store_.relay_batches();
  if (outbox == nullptr) return Status(Code::kUnprocessable, "this server is no relay");
  // First the rows' metadata only (no body decoded): most calls find
  // nothing due, and decoding every pending body twice a second stalled the
  // relay's writer under load.
  std::map<int64_t, std::vector<int64_t>> by_base;  // base version -> ledger ids, in ledger order
  int64_t pending = 0;
  int64_t oldest_ms = 0;
  EDGEFED_RETURN_IF_ERROR(store_.ledger().for_each_pending([&](const LedgerEntry& e, std::span<const uint8_t>) {
    if (pending++ == 0) oldest_ms = e.accepted_unix_ms;
    by_base[e.base_version].push_back(e.id);
    return Status::ok();
  }));
  // By count, only full chunks of K go (the rest waits for more updates or
  // the flush); by time (or force), everything pending.
  const bool flush =
      force || (pending > 0 && now_ms - oldest_ms >= static_cast<int64_t>(options_.relay_flush_s * 1000));
  if (!flush && pending < options_.relay_k) return int64_t{0};
  const size_t k = static_cast<size_t>(options_.relay_k);
  int64_t formed = 0;
  for (const auto& [base, rows] : by_base) {
    for (size_t from = 0; from < rows.size(); from += k) {
      const size_t to = std::min(rows.size(), from + k);
      if (!flush && to - from < k) break;
      const std::vector<int64_t> chunk(rows.begin() + static_cast<std::ptrdiff_t>(from),
                                       rows.begin() + static_cast<std::ptrdiff_t>(to));
      // Then the chunk's bodies, decoded once.
      std::vector<double> sum(static_cast<size_t>(layout.size()), 0.0);
      double samples = 0, loss = 0;
      ml::NormalizerPool pool;
      std::vector<int64_t> id_list, undecodable;
      EDGEFED_RETURN_IF_ERROR(store_.ledger().for_each_pending_of(
          chunk, [&](const LedgerEntry& e, std::span<const uint8_t> payload) -> Status {
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
      if (id_list.empty() || samples <= 0) continue;
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
      ++formed;
    }
  }
  return formed;
}

}  // namespace edgefed::server
