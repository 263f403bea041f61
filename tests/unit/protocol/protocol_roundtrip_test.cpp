#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"

using namespace edgefed;
using nlohmann::json;

namespace {
// Through text, as on the wire.
json wire(const json& j) { return parse_json(j.dump()).value(); }
}  // namespace

TEST_CASE("ids follow their alphabets", "[unit][protocol]") {
  CHECK(valid_agent_id("agent-000"));
  CHECK(valid_agent_id("node7.edge_a"));
  CHECK(valid_agent_id(std::string(64, 'a')));
  CHECK_FALSE(valid_agent_id(""));
  CHECK_FALSE(valid_agent_id(std::string(65, 'a')));
  CHECK_FALSE(valid_agent_id("-agent"));
  CHECK_FALSE(valid_agent_id("agent 1"));
  CHECK_FALSE(valid_agent_id("agent/1"));
  CHECK_FALSE(valid_agent_id("agent:1"));
  CHECK(valid_update_id("agent-000:17"));
  CHECK(valid_update_id(std::string(128, 'u')));
  CHECK_FALSE(valid_update_id(std::string(129, 'u')));
  CHECK_FALSE(valid_update_id("a/b"));
  CHECK(valid_telemetry_key("loss"));
  CHECK_FALSE(valid_telemetry_key("_loss"));
}

TEST_CASE("update ack round trips", "[unit][protocol]") {
  UpdateAck a{42, 3, 12.5, true};
  auto r = parse_update_ack(wire(to_json(a)));
  REQUIRE(r.is_ok());
  CHECK(r->version == 42);
  CHECK(r->staleness == 3);
  CHECK(r->weight == 12.5);
  CHECK(r->duplicate);
  // duplicate is optional; unknown members from a newer server are ignored.
  auto r2 = parse_update_ack(json{{"version", 1}, {"staleness", 0}, {"weight", 1.0}, {"new_field", "x"}});
  REQUIRE(r2.is_ok());
  CHECK_FALSE(r2->duplicate);
}

TEST_CASE("task round trips", "[unit][protocol]") {
  Task t;
  t.agent_id = "agent-007";
  t.model_version = 9;
  t.layout_fingerprint = "0123456789abcdef";
  t.mode = MergeMode::kSync;
  t.round = 4;
  t.epochs = 2;
  t.steps = 100;
  t.batch_size = 64;
  t.lr = 0.01;
  t.momentum = 0.5;
  t.weight_decay = 1e-4;
  t.proximal_mu = 0.01;
  t.clip_norm = 5;
  t.encoding = Encoding::kTopK;
  t.topk_fraction = 0.05;
  t.deadline_unix_ms = 1790000000000;
  auto r = parse_task(wire(to_json(t)));
  REQUIRE(r.is_ok());
  CHECK(to_json(*r) == to_json(t));
}

TEST_CASE("task optional members take their defaults", "[unit][protocol]") {
  json j = {{"agent_id", "a"}, {"model_version", 0}, {"layout_fingerprint", "0123456789abcdef"},
            {"mode", "async"}, {"epochs", 1}, {"steps", 0}, {"batch_size", 32}, {"lr", 0.1},
            {"encoding", "f32"}};
  auto r = parse_task(j);
  REQUIRE(r.is_ok());
  CHECK(r->momentum == Task{}.momentum);
  CHECK(r->topk_fraction == Task{}.topk_fraction);
  CHECK(r->deadline_unix_ms == 0);
}

TEST_CASE("telemetry batch and ack round trip", "[unit][protocol]") {
  TelemetryBatch b;
  b.agent_id = "agent-001";
  b.records.push_back({1, 1790000000000, "train", {{"loss", 0.25}, {"samples", 512}}, {}});
  b.records.push_back({2, 1790000000100, "link", {}, {{"link_state", "offline"}}});
  b.records.push_back({7, 1790000000200, "dropped", {{"count", 3}}, {{"reason", "outbox full"}}});
  auto r = parse_telemetry_batch(wire(to_json(b)));
  REQUIRE(r.is_ok());
  CHECK(to_json(*r) == to_json(b));
  REQUIRE(r->records.size() == 3);
  CHECK(r->records[2].labels.at("reason") == "outbox full");

  auto ack = parse_telemetry_ack(wire(to_json(TelemetryAck{7})));
  REQUIRE(ack.is_ok());
  CHECK(ack->acked_through == 7);
}

TEST_CASE("server status round trips with and without optionals", "[unit][protocol]") {
  ServerStatus s;
  s.model_version = 12;
  s.mode = MergeMode::kAsync;
  s.layout = "784-128-10";
  s.updates_accepted = 100;
  s.updates_merged = 96;
  s.telemetry_records = 1000;
  s.agents = 2;
  s.gradient_variance = 0.5;
  SECTION("empty lists and no loss") {
    auto r = parse_server_status(wire(to_json(s)));
    REQUIRE(r.is_ok());
    CHECK_FALSE(r->global_loss.has_value());
    CHECK(r->loss_source.empty());
    CHECK(to_json(*r) == to_json(s));
  }
  SECTION("a regression model's metrics") {
    s.global_loss = 0.2;
    s.loss_source = "eval";
    s.task = "regression";
    s.global_mae = 1.7;
    s.global_rmse = 2.3;
    s.history.push_back({12, 1790000001000, 0.2, std::nullopt, 0.05, 8, 1.7});
    auto r = parse_server_status(wire(to_json(s)));
    REQUIRE(r.is_ok());
    CHECK(to_json(*r) == to_json(s));
    CHECK(r->task == "regression");
    CHECK(r->global_mae == 1.7);
    CHECK_FALSE(r->global_anomaly_share.has_value());
    CHECK(r->history[0].mae == 1.7);
    auto bad = to_json(s);
    bad["task"] = "clustering";
    CHECK_FALSE(parse_server_status(bad).is_ok());
    bad = to_json(s);
    bad["global_anomaly_share"] = 1.5;
    CHECK_FALSE(parse_server_status(bad).is_ok());
  }
  SECTION("replica") {
    ReplicaSummary rp;
    rp.name = "server-b";
    rp.leader = false;
    rp.leader_name = "server-a";
    rp.live_replicas = 3;
    rp.database_version = 41;
    rp.clock_skew_s = -2.5;
    s.replica = rp;
    auto r = parse_server_status(wire(to_json(s)));
    REQUIRE(r.is_ok());
    CHECK(to_json(*r) == to_json(s));
    REQUIRE(r->replica.has_value());
    CHECK(r->replica->leader_name == "server-a");
    CHECK(r->replica->clock_skew_s == -2.5);
    s.replica->leader_name.clear();  // no leader right now
    CHECK(parse_server_status(wire(to_json(s))).is_ok());
    auto bad = to_json(s);
    bad["replica"]["live_replicas"] = -1;
    CHECK_FALSE(parse_server_status(bad).is_ok());
    bad = to_json(s);
    bad["replica"].erase("leader");
    CHECK_FALSE(parse_server_status(bad).is_ok());
  }
  SECTION("full") {
    s.global_loss = 0.4;
    s.global_accuracy = 0.85;
    s.loss_source = "eval";
    s.agent_list.push_back({"agent-000", "active", 1790000000000, 10, 1, 0.2, "aarch64"});
    s.agent_list.push_back({"agent-001", "quarantined", 1790000000000, 3, 0, 4.5, ""});
    s.history.push_back({11, 1790000000000, 0.5, std::nullopt, 0.1, 8, std::nullopt});
    s.history.push_back({12, 1790000001000, 0.4, 0.85, 0.05, 8, std::nullopt});
    auto r = parse_server_status(wire(to_json(s)));
    REQUIRE(r.is_ok());
    CHECK(to_json(*r) == to_json(s));
    CHECK(r->agent_list[1].state == "quarantined");
    CHECK_FALSE(r->history[0].accuracy.has_value());
    CHECK_FALSE(r->history[0].mae.has_value());
    CHECK_FALSE(to_json(s).contains("task"));
    CHECK_FALSE(to_json(s).contains("replica"));  // only replicas of a PostgreSQL store

    // The anonymous summary counts the states and names no agent.
    const ServerStatus summary = anonymous_summary(s);
    const std::string text = to_json(summary).dump();
    CHECK(text.find("agent-00") == std::string::npos);
    CHECK(to_json(summary).contains("agent_list") == false);
    auto back = parse_server_status(wire(to_json(summary)));
    REQUIRE(back.is_ok());
    CHECK(back->view == "summary");
    REQUIRE(back->agent_states.has_value());
    CHECK(back->agent_states->active == 1);
    CHECK(back->agent_states->quarantined == 1);
    CHECK(back->agents == 2);
    CHECK(back->history.size() == 2);
    CHECK(to_json(*back) == to_json(summary));
  }
}

TEST_CASE("error bodies round trip for every code", "[unit][protocol]") {
  for (int c = static_cast<int>(Code::kInvalidArgument); c <= static_cast<int>(Code::kIo); ++c) {
    const Code code = static_cast<Code>(c);
    INFO(code_name(code));
    REQUIRE(error_code_from_name(code_name(code)) == code);
    // status.hpp's error_body and to_json(ErrorBody) write the same shape.
    const Status st(code, "why \"it\" failed");
    auto from_status = parse_error_body(parse_json(error_body(st)).value());
    REQUIRE(from_status.is_ok());
    CHECK(from_status->to_status().to_string() == st.to_string());
    CHECK(to_json(ErrorBody{code, st.message()}) == json::parse(error_body(st)));
  }
  CHECK_FALSE(error_code_from_name("ok").has_value());
}

TEST_CASE("integral floats count as integers, as in JSON Schema", "[unit][protocol]") {
  auto r = parse_telemetry_ack(parse_json(R"({"acked_through": 5.0})").value());
  REQUIRE(r.is_ok());
  CHECK(r->acked_through == 5);
  CHECK_FALSE(parse_telemetry_ack(parse_json(R"({"acked_through": 5.5})").value()).is_ok());
}
