// What /metrics says, against the real server over TLS: the series whose
// label values are known in advance exist at 0 on a fresh server, and a
// telemetry batch stored, its ack lost in a crash, and resent after the
// restart is counted once by every telemetry counter and fleet histogram.
#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "../../support/scratch_dir.hpp"
#include "edgefed/protocol.hpp"
#include "metrics_text.hpp"
#include "server_process.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

std::map<std::string, double> scrape(const ServerProcess& server) {
  auto c = server.admin();  // /metrics on the HTTPS port names agents: admin or viewer only
  auto r = c->get("/metrics");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return metric_samples(r->body);
}

double value(const std::map<std::string, double>& s, const std::string& series) { return metric_value(s, series); }

// Records shaped like the ones edgefed-agent writes (agent/loop/telemetry_recorder.cpp).
TelemetryRecord train(int64_t seq) {
  return {seq, 1700000000000 + seq, "train",
          {{"loss", 0.7}, {"samples_per_s", 5000}, {"cpu_temp_c", 55}, {"outbox_updates", 1}},
          {{"link_state", "online"}, {"update_id", "agent-000:abcd:" + std::to_string(seq)}}};
}
TelemetryRecord system_record(int64_t seq) {
  return {seq, 1700000000000 + seq, "system",
          {{"cpu_temp_c", 61}, {"outbox_updates", 2}, {"peak_rss_bytes", 1e7}},
          {{"link_state", "online"}}};
}
TelemetryRecord link_record(int64_t seq) {
  return {seq, 1700000000000 + seq, "link", {{"offline_ms_total", 1200}}, {{"link_state", "offline"}}};
}
TelemetryRecord dropped_record(int64_t seq) {
  return {seq, 1700000000000 + seq, "dropped", {{"updates", 0}, {"telemetry", 3}}, {}};
}

// What every telemetry series should have counted for `records`.
std::map<std::string, double> expected(const std::vector<TelemetryRecord>& records) {
  std::map<std::string, double> e;
  for (const char* k : kFleetKinds) e[fleet_kind_series(k)] = 0;
  for (const char* h : kFleetHistogramCounts) e[h] = 0;
  e["edgefed_telemetry_records_total"] = static_cast<double>(records.size());
  for (const auto& r : records) {
    e[fleet_kind_series(r.kind)] += 1;
    if (r.kind == "train" && r.values.count("loss")) e["edgefed_fleet_train_loss_count"] += 1;
    if (r.kind == "train" && r.values.count("samples_per_s")) e["edgefed_fleet_samples_per_second_count"] += 1;
    if (r.values.count("cpu_temp_c")) e["edgefed_fleet_cpu_temperature_celsius_count"] += 1;
    if (r.values.count("outbox_updates")) e["edgefed_fleet_outbox_updates_count"] += 1;
  }
  return e;
}

// Posts exactly what edgefed-agent's Link::post_telemetry posts.
int64_t post_batch(const ServerProcess& server, const std::vector<TelemetryRecord>& records) {
  auto c = server.agent(0);
  const TelemetryBatch batch{Pki::agent_id(0), records};
  auto r = c->post("/v1/telemetry", to_json(batch).dump(), "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return nlohmann::json::parse(r->body)["acked_through"].get<int64_t>();
}

}  // namespace

TEST_CASE("a fresh server exports every series whose label values are known, at 0", "[integration][server]") {
  ScratchDir dir("edgefed-metrics");
  ServerProcess server(fleet_pki(), dir.file("state"), {"--model-init", "mlp:16-8-4"});
  server.start();
  const auto s = scrape(server);
  for (const char* result : {"accepted", "duplicate", "invalid_argument", "permission_denied", "conflict",
                             "too_stale", "payload_too_large", "dimension_mismatch", "non_finite", "unprocessable",
                             "unavailable", "internal", "io_error"}) {
    INFO(result);
    CHECK(value(s, std::string("edgefed_updates_total{result=\"") + result + "\"}") == 0);
  }
  CHECK(value(s, "edgefed_telemetry_records_total") == 0);
  for (const char* kind : kFleetKinds) {
    INFO(kind);
    CHECK(value(s, fleet_kind_series(kind)) == 0);
  }
  for (const char* reason : {"max_connections", "tls_handshake", "timeout"}) {
    INFO(reason);
    CHECK(value(s, std::string("edgefed_http_connections_refused_total{reason=\"") + reason + "\"}") == 0);
  }
  CHECK(value(s, "edgefed_quarantines_total{reason=\"outlier\"}") == 0);
  CHECK(value(s, "edgefed_updates_clipped_total") == 0);
  CHECK(value(s, "edgefed_fleet_train_loss_count") == 0);
  CHECK(value(s, "edgefed_update_staleness_count") == 0);
  CHECK(server.terminate() == 0);
}

// The scenario: the agent posts records 1-3, the server stores them and
// answers, and the server is SIGKILLed before the agent took the ack; so the
// agent's outbox still holds 1-3, and after the restart it sends them again
// together with the records it wrote meanwhile (4, 5), oldest first, as its
// outbox does.
//
// The kill comes after the 200 arrived, and the test then behaves as if it
// had not: the server's state is the same whether its answer was lost on the
// wire or not (the ack is written only after the commit), so this is the
// lost-ack case, made deterministic. Dropping the response in a TCP proxy
// instead would have to cut exactly between the commit and the response
// write, which a test cannot time.
//
// Counters restart at 0 with the process, so "counted once" means: what the
// first process counted (records 1-3) plus what the restarted one counted
// must be each record once. Before the fix the restarted server's fleet
// monitor had forgotten its per-agent last seq and counted 1-3 again.
TEST_CASE("a telemetry batch resent after a crash lost its ack is counted once", "[integration][server]") {
  ScratchDir dir("edgefed-metrics");
  ServerProcess server(fleet_pki(), dir.file("state"), {"--model-init", "mlp:16-8-4"});
  server.start();

  const std::vector<TelemetryRecord> first = {train(1), system_record(2), link_record(3)};
  CHECK(post_batch(server, first) == 3);
  const auto before_kill = scrape(server);
  const auto want_first = expected(first);
  for (const auto& [series, n] : want_first) {
    INFO("first process: " << series);
    CHECK(value(before_kill, series) == n);
  }
  server.kill9();  // the ack never reached the agent
  server.start();  // same state directory

  const std::vector<TelemetryRecord> resent = {train(1), system_record(2), link_record(3), train(4),
                                               dropped_record(5)};
  CHECK(post_batch(server, resent) == 5);
  CHECK(post_batch(server, resent) == 5);  // and once more, without a restart: nothing new
  const auto after = scrape(server);
  const auto want_all = expected(resent);
  for (const auto& [series, n] : want_all) {
    INFO("first process + restarted process: " << series << " = " << value(before_kill, series) << " + "
                                                << value(after, series));
    CHECK(value(before_kill, series) + value(after, series) == n);
  }
  auto status = server.admin()->get("/v1/status");  // the full status needs admin or viewer
  REQUIRE(status);
  CHECK(nlohmann::json::parse(status->body)["telemetry_records"] == 5);
  CHECK(server.terminate() == 0);
}
