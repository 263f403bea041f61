#include "agent/outbox/secagg_round_store.hpp"

#include <cmath>
#include <cstring>

namespace edgefed::agent {
namespace {

// The delta as little-endian float32, whatever the host's byte order: an
// outbox file may move between devices with the state dir.
std::string encode_delta(const std::vector<float>& delta) {
  std::string out(delta.size() * 4, '\0');
  for (size_t i = 0; i < delta.size(); ++i) {
    uint32_t bits = 0;
    std::memcpy(&bits, &delta[i], 4);
    for (size_t b = 0; b < 4; ++b) out[i * 4 + b] = static_cast<char>(bits >> (8 * b) & 0xff);
  }
  return out;
}

Result<std::vector<float>> decode_delta(std::span<const uint8_t> bytes) {
  if (bytes.size() % 4 != 0)
    return Status(Code::kIo, "outbox: secagg_rounds.delta has " + std::to_string(bytes.size()) +
                                 " bytes, not whole float32 values");
  std::vector<float> out(bytes.size() / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t bits = 0;
    for (size_t b = 0; b < 4; ++b) bits |= static_cast<uint32_t>(bytes[i * 4 + b]) << (8 * b);
    std::memcpy(&out[i], &bits, 4);
  }
  return out;
}

}  // namespace

Status SecAggRoundStore::store(const SecAggRound& round) {
  if (round.session.empty() || round.session.size() > 128)
    return Status(Code::kInvalidArgument, "outbox: a secure aggregation session id is 1-128 characters");
  if (round.num_samples < 1) return Status(Code::kInvalidArgument, "outbox: a secagg round needs num_samples >= 1");
  if (round.snapshot.empty()) return Status(Code::kInvalidArgument, "outbox: a secagg round needs its snapshot");
  if (!std::isfinite(round.train_loss))
    return Status(Code::kNonFinite, "outbox: the secagg round's train_loss is not finite");
  if (!(round.dp_sigma >= 0 && std::isfinite(round.dp_sigma)))
    return Status(Code::kInvalidArgument, "outbox: the secagg round's dp_sigma must be >= 0");
  auto current = db_.prepare("SELECT session FROM secagg_rounds");
  if (!current) return current.status();
  auto row = current->step();
  if (!row) return row.status();
  if (*row) {
    return Status(Code::kConflict, "outbox: secure aggregation round '" + current->column_text(0) +
                                       "' is not finished; one round at a time");
  }
  const std::string delta = encode_delta(round.delta);
  auto ins = db_.prepare(
      "INSERT INTO secagg_rounds(slot, session, base_version, num_samples, train_loss, snapshot, delta, "
      "created_unix_ms, dp_sigma) VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!ins) return ins.status();
  ins->bind(1, round.session).bind(2, round.base_version).bind(3, round.num_samples).bind(4, round.train_loss);
  ins->bind_blob(5, std::span<const uint8_t>(round.snapshot)).bind_blob(6, delta).bind(7, round.created_unix_ms);
  ins->bind(8, round.dp_sigma);
  EDGEFED_RETURN_IF_ERROR(ins->run());
  return journal_.add_counter("secagg_rounds_created", 1);
}

Status SecAggRoundStore::replace_snapshot(std::string_view session, std::span<const uint8_t> snapshot) {
  if (snapshot.empty()) return Status(Code::kInvalidArgument, "outbox: empty secagg snapshot");
  auto upd = db_.prepare("UPDATE secagg_rounds SET snapshot = ?2 WHERE session = ?1");
  if (!upd) return upd.status();
  upd->bind(1, session).bind_blob(2, snapshot);
  EDGEFED_RETURN_IF_ERROR(upd->run());
  if (db_.changes() == 0)
    return Status(Code::kNotFound, "outbox: no stored secure aggregation round '" + std::string(session) + "'");
  return Status::ok();
}

Result<std::optional<SecAggRound>> SecAggRoundStore::read() {
  auto stmt = db_.prepare(
      "SELECT session, base_version, num_samples, train_loss, snapshot, delta, created_unix_ms, dp_sigma "
      "FROM secagg_rounds");
  if (!stmt) return stmt.status();
  auto row = stmt->step();
  if (!row) return row.status();
  if (!*row) return std::optional<SecAggRound>();
  SecAggRound r;
  r.session = stmt->column_text(0);
  r.base_version = stmt->column_int(1);
  r.num_samples = stmt->column_int(2);
  r.train_loss = stmt->column_double(3);
  const auto snapshot = stmt->column_blob(4);
  r.snapshot.assign(snapshot.begin(), snapshot.end());
  auto delta = decode_delta(stmt->column_blob(5));
  if (!delta) return delta.status();
  r.delta = std::move(*delta);
  r.created_unix_ms = stmt->column_int(6);
  r.dp_sigma = stmt->column_double(7);
  return std::optional<SecAggRound>(std::move(r));
}

Result<bool> SecAggRoundStore::end(std::string_view session, SecAggEnd how, std::string_view detail,
                                   int64_t now_ms) {
  auto del = db_.prepare("DELETE FROM secagg_rounds WHERE session = ?1");
  if (!del) return del.status();
  del->bind(1, session);
  EDGEFED_RETURN_IF_ERROR(del->run());
  if (db_.changes() == 0) return false;  // ended already: nothing to count
  const bool done = how == SecAggEnd::kDone;
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter(done ? "secagg_rounds_done" : "secagg_rounds_aborted", 1));
  EDGEFED_RETURN_IF_ERROR(
      journal_.add_row("secagg_round", session, done ? "done" : "aborted", now_ms, nullptr, detail));
  return true;
}

}  // namespace edgefed::agent
