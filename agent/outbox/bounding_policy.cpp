#include "agent/outbox/bounding_policy.hpp"

#include <chrono>
#include <utility>
#include <vector>

namespace edgefed::agent {
namespace {

// Rows examined per round while freeing bytes.
constexpr int64_t kScanRows = 256;

int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

Status BoundingPolicy::drop_update(int64_t num, const std::string& update_id, Dropped* dropped) {
  auto del = db_.prepare("DELETE FROM updates WHERE num = ?1");
  if (!del) return del.status();
  del->bind(1, num);
  EDGEFED_RETURN_IF_ERROR(del->run());
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter("updates_dropped", 1));
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter("unreported_dropped_updates", 1));
  EDGEFED_RETURN_IF_ERROR(journal_.add_row("update", update_id, "dropped", unix_ms_now(), nullptr, "outbox full"));
  if (dropped) ++dropped->updates;
  return Status::ok();
}

Status BoundingPolicy::enforce(Dropped* dropped) {
  const OutboxLimits& lim = limits_;
  // 1. Keep the newest max_updates updates. Updates already sent (attempts
  // > 0) go last: the server may hold one whose ack a crash or a cut lost,
  // and only resending it tells (ack or duplicate), so dropping it would
  // count as dropped what the server merged. The forwarder sends oldest
  // first, so these are the oldest one or two.
  auto n_updates = db_.query_int("SELECT COUNT(*) FROM updates");
  if (!n_updates) return n_updates.status();
  if (*n_updates > lim.max_updates) {
    auto old = db_.prepare("SELECT num, update_id FROM updates ORDER BY attempts > 0, num LIMIT ?1");
    if (!old) return old.status();
    old->bind(1, *n_updates - lim.max_updates);
    std::vector<std::pair<int64_t, std::string>> victims;
    for (;;) {
      auto row = old->step();
      if (!row) return row.status();
      if (!*row) break;
      victims.emplace_back(old->column_int(0), old->column_text(1));
    }
    for (const auto& [num, id] : victims) EDGEFED_RETURN_IF_ERROR(drop_update(num, id, dropped));
  }
  // 2. Keep the newest max_telemetry records.
  auto n_tel = db_.query_int("SELECT COUNT(*) FROM telemetry");
  if (!n_tel) return n_tel.status();
  int64_t tel_dropped = 0;
  if (*n_tel > lim.max_telemetry) {
    auto del = db_.prepare(
        "DELETE FROM telemetry WHERE seq IN (SELECT seq FROM telemetry ORDER BY seq LIMIT ?1)");
    if (!del) return del.status();
    del->bind(1, *n_tel - lim.max_telemetry);
    EDGEFED_RETURN_IF_ERROR(del->run());
    tel_dropped += db_.changes();
  }
  // 3. Bytes: oldest telemetry first, then the oldest updates but the newest.
  auto bytes = db_.query_int(
      "SELECT (SELECT IFNULL(SUM(size), 0) FROM updates) + "
      "(SELECT IFNULL(SUM(size), 0) FROM telemetry)");
  if (!bytes) return bytes.status();
  int64_t excess = *bytes - lim.max_bytes;
  while (excess > 0) {
    auto old = db_.prepare("SELECT seq, size FROM telemetry ORDER BY seq LIMIT ?1");
    if (!old) return old.status();
    old->bind(1, kScanRows);
    int64_t through = -1;
    for (;;) {
      auto row = old->step();
      if (!row) return row.status();
      if (!*row || excess <= 0) break;
      through = old->column_int(0);
      excess -= old->column_int(1);
    }
    old = sqlite::Statement();
    if (through < 0) break;  // no telemetry left
    auto del = db_.prepare("DELETE FROM telemetry WHERE seq <= ?1");
    if (!del) return del.status();
    del->bind(1, through);
    EDGEFED_RETURN_IF_ERROR(del->run());
    tel_dropped += db_.changes();
  }
  while (excess > 0) {
    auto old = db_.prepare(
        "SELECT num, update_id, size FROM updates WHERE num < (SELECT MAX(num) FROM updates) "
        "ORDER BY attempts > 0, num LIMIT 1");
    if (!old) return old.status();
    auto row = old->step();
    if (!row) return row.status();
    if (!*row) break;  // only the newest update is left: keep it
    const int64_t num = old->column_int(0);
    const std::string id = old->column_text(1);
    excess -= old->column_int(2);
    old = sqlite::Statement();
    EDGEFED_RETURN_IF_ERROR(drop_update(num, id, dropped));
  }
  if (tel_dropped > 0) {
    EDGEFED_RETURN_IF_ERROR(journal_.add_counter("telemetry_dropped", tel_dropped));
    EDGEFED_RETURN_IF_ERROR(journal_.add_counter("unreported_dropped_telemetry", tel_dropped));
    if (dropped) dropped->telemetry += tel_dropped;
  }
  return Status::ok();
}

Result<bool> BoundingPolicy::report_drops(int64_t now_ms) {
  auto u = journal_.counter("unreported_dropped_updates");
  auto t = journal_.counter("unreported_dropped_telemetry");
  auto ut = journal_.counter("updates_dropped");
  auto tt = journal_.counter("telemetry_dropped");
  for (const auto* r : {&u, &t, &ut, &tt})
    if (!*r) return r->status();
  if (*u == 0 && *t == 0) return false;
  TelemetryRecord rec;
  rec.ts_ms = now_ms;
  rec.kind = "dropped";
  rec.values = {{"updates", static_cast<double>(*u)},
                {"telemetry", static_cast<double>(*t)},
                {"updates_total", static_cast<double>(*ut)},
                {"telemetry_total", static_cast<double>(*tt)}};
  auto seq = telemetry_.add(rec);
  if (!seq) return seq.status();
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter("unreported_dropped_updates", -*u));
  EDGEFED_RETURN_IF_ERROR(journal_.add_counter("unreported_dropped_telemetry", -*t));
  EDGEFED_RETURN_IF_ERROR(enforce(nullptr));
  return true;
}

}  // namespace edgefed::agent
