// Tables of bad bodies: each must be refused with kInvalidArgument and a
// message that names the offending field.
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"

using namespace edgefed;
using nlohmann::json;

namespace {

// A valid body, edited: set (or with a null value, erase) one member.
json edit(json base, const std::string& key, const json& value) {
  if (value.is_discarded()) {
    base.erase(key);
  } else {
    base[key] = value;
  }
  return base;
}
const json kErase = json(json::value_t::discarded);

const json kTask = {{"agent_id", "agent-000"}, {"model_version", 3}, {"layout_fingerprint", "0123456789abcdef"},
                    {"mode", "async"}, {"epochs", 1}, {"steps", 0}, {"batch_size", 32}, {"lr", 0.05},
                    {"encoding", "f32"}};

const json kRecord = {{"seq", 1}, {"ts_ms", 1790000000000}, {"kind", "train"}, {"values", {{"loss", 0.5}}}};

template <typename T>
void expect_refused(const Result<T>& r, const std::string& field) {
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  INFO(r.status().message());
  CHECK(r.status().message().find(field) != std::string::npos);
}

}  // namespace

TEST_CASE("bad tasks are refused naming the field", "[unit][protocol]") {
  REQUIRE(parse_task(kTask).is_ok());
  auto [key, value, field] = GENERATE_REF(table<std::string, json, std::string>({
      {"agent_id", kErase, "task.agent_id: is required"},
      {"agent_id", "", "task.agent_id"},
      {"agent_id", "bad id", "task.agent_id"},
      {"agent_id", 7, "task.agent_id: must be a string"},
      {"model_version", -1, "task.model_version"},
      {"model_version", "3", "task.model_version"},
      {"model_version", 1.5, "task.model_version"},
      {"model_version", 1e300, "task.model_version"},
      {"model_version", 9223372036854775808ull, "task.model_version"},
      {"layout_fingerprint", "0123456789ABCDEF", "task.layout_fingerprint"},
      {"layout_fingerprint", "0123", "task.layout_fingerprint"},
      {"mode", "batch", "task.mode"},
      {"mode", kErase, "task.mode"},
      {"epochs", -1, "task.epochs"},
      {"epochs", 0, "task.epochs: epochs or steps"},
      {"epochs", 1000000, "task.epochs"},
      {"steps", -5, "task.steps"},
      {"batch_size", 0, "task.batch_size"},
      {"batch_size", true, "task.batch_size"},
      {"lr", 0, "task.lr: must be a number > 0"},
      {"lr", -0.1, "task.lr"},
      {"lr", "0.1", "task.lr"},
      {"lr", nullptr, "task.lr"},
      {"momentum", 1.0, "task.momentum"},
      {"weight_decay", -1, "task.weight_decay"},
      {"proximal_mu", -0.5, "task.proximal_mu"},
      {"clip_norm", -1, "task.clip_norm"},
      {"encoding", "bf16", "task.encoding"},
      {"topk_fraction", 0, "task.topk_fraction"},
      {"topk_fraction", 1.5, "task.topk_fraction"},
      {"deadline_unix_ms", -1, "task.deadline_unix_ms"},
  }));
  INFO(key << " = " << value.dump());
  expect_refused(parse_task(edit(kTask, key, value)), field);
}

TEST_CASE("non-objects are refused", "[unit][protocol]") {
  auto body = GENERATE(json::array(), json(1), json("task"), json(nullptr), json(true));
  expect_refused(parse_task(body), "task: must be a JSON object");
  expect_refused(parse_update_ack(body), "update_ack");
  expect_refused(parse_telemetry_ack(body), "telemetry_ack");
  expect_refused(parse_telemetry_batch(body), "telemetry");
  expect_refused(parse_server_status(body), "status");
  expect_refused(parse_error_body(body), "body");
}

TEST_CASE("bad update acks are refused naming the field", "[unit][protocol]") {
  const json ack = {{"version", 5}, {"staleness", 1}, {"weight", 10.0}};
  auto [key, value, field] = GENERATE_REF(table<std::string, json, std::string>({
      {"version", kErase, "update_ack.version"},
      {"version", -1, "update_ack.version"},
      {"staleness", -1, "update_ack.staleness"},
      {"staleness", 6, "update_ack.staleness: must not exceed version"},
      {"weight", -1, "update_ack.weight"},
      {"weight", "1", "update_ack.weight"},
      {"duplicate", 1, "update_ack.duplicate"},
  }));
  expect_refused(parse_update_ack(edit(ack, key, value)), field);
}

TEST_CASE("bad telemetry batches are refused naming the field", "[unit][protocol]") {
  const json batch = {{"agent_id", "agent-000"}, {"records", json::array({kRecord})}};
  REQUIRE(parse_telemetry_batch(batch).is_ok());
  json two = batch;
  two["records"].push_back(kRecord);  // same seq twice
  json many_values = kRecord;
  for (int i = 0; i < 65; ++i) many_values["values"]["v" + std::to_string(i)] = i;
  json many_labels = kRecord;
  for (int i = 0; i < 33; ++i) many_labels["labels"]["l" + std::to_string(i)] = "x";

  auto [name, body, field] = GENERATE_REF(table<std::string, json, std::string>({
      {"no agent", edit(batch, "agent_id", kErase), "telemetry.agent_id"},
      {"bad agent", edit(batch, "agent_id", "a b"), "telemetry.agent_id"},
      {"unknown member", edit(batch, "extra", 1), "telemetry.extra: is not a known field"},
      {"no records", edit(batch, "records", kErase), "telemetry.records"},
      {"records not array", edit(batch, "records", json::object()), "telemetry.records: must be an array"},
      {"empty records", edit(batch, "records", json::array()), "telemetry.records: must hold 1 to"},
      {"record not object", edit(batch, "records", json::array({1})), "telemetry.records[0]"},
      {"seq 0", edit(batch, "records", json::array({edit(kRecord, "seq", 0)})), "records[0].seq"},
      {"seq missing", edit(batch, "records", json::array({edit(kRecord, "seq", kErase)})), "records[0].seq"},
      {"seq repeated", two, "records[1].seq: must be greater"},
      {"ts negative", edit(batch, "records", json::array({edit(kRecord, "ts_ms", -1)})), "records[0].ts_ms"},
      {"bad kind", edit(batch, "records", json::array({edit(kRecord, "kind", "debug")})), "records[0].kind"},
      {"record extra", edit(batch, "records", json::array({edit(kRecord, "x", 1)})), "records[0].x"},
      {"value string", edit(batch, "records", json::array({edit(kRecord, "values", {{"loss", "1"}})})),
       "records[0].values.loss"},
      {"value null", edit(batch, "records", json::array({edit(kRecord, "values", {{"loss", nullptr}})})),
       "records[0].values.loss"},
      {"bad value key", edit(batch, "records", json::array({edit(kRecord, "values", {{"a b", 1}})})),
       "records[0].values"},
      {"values array", edit(batch, "records", json::array({edit(kRecord, "values", json::array())})),
       "records[0].values: must be an object"},
      {"label number", edit(batch, "records", json::array({edit(kRecord, "labels", {{"state", 1}})})),
       "records[0].labels.state"},
      {"label too long",
       edit(batch, "records", json::array({edit(kRecord, "labels", {{"state", std::string(257, 'x')}})})),
       "records[0].labels.state"},
      {"65 values", edit(batch, "records", json::array({many_values})), "records[0].values: must have at most"},
      {"33 labels", edit(batch, "records", json::array({many_labels})), "records[0].labels: must have at most"},
  }));
  INFO(name);
  expect_refused(parse_telemetry_batch(body), field);
}

TEST_CASE("telemetry batches above max_records are refused", "[unit][protocol]") {
  json batch = {{"agent_id", "agent-000"}, {"records", json::array()}};
  for (int i = 1; i <= 11; ++i) batch["records"].push_back(edit(kRecord, "seq", i));
  CHECK(parse_telemetry_batch(batch, 11).is_ok());
  expect_refused(parse_telemetry_batch(batch, 10), "telemetry.records: must hold 1 to 10");
}

TEST_CASE("a value that overflows to infinity is refused", "[unit][protocol]") {
  auto j = parse_json(R"({"agent_id":"a","records":[{"seq":1,"ts_ms":0,"kind":"train","values":{"x":1e999}}]})");
  if (j.is_ok()) expect_refused(parse_telemetry_batch(*j), "values.x");  // else the parser refused it already
}

TEST_CASE("bad telemetry acks, errors and statuses are refused", "[unit][protocol]") {
  const json status = {{"model_version", 1}, {"mode", "async"}, {"layout", "784-128-10"},
                       {"updates_accepted", 0}, {"updates_merged", 0}, {"telemetry_records", 0},
                       {"agents", 0}, {"gradient_variance", 0}};
  REQUIRE(parse_server_status(status).is_ok());
  const json agent = {{"agent_id", "agent-000"}, {"state", "active"}, {"last_seen_unix_ms", 0},
                      {"updates", 0}, {"last_staleness", 0}, {"outlier_score", 0}};
  const json point = {{"version", 1}, {"unix_ms", 0}, {"gradient_variance", 0}, {"updates", 0}};

  expect_refused(parse_telemetry_ack(json{{"acked_through", -1}}), "telemetry_ack.acked_through");
  expect_refused(parse_telemetry_ack(json::object()), "telemetry_ack.acked_through: is required");
  expect_refused(parse_error_body(json{{"error", "x"}}), "error: must be an object");
  expect_refused(parse_error_body(json{{"error", {{"code", "nope"}, {"message", "m"}}}}), "error.code");
  expect_refused(parse_error_body(json{{"error", {{"code", "ok"}, {"message", "m"}}}}), "error.code");
  expect_refused(parse_error_body(json{{"error", {{"code", "conflict"}}}}), "error.message");
  expect_refused(parse_server_status(edit(status, "mode", "x")), "status.mode");
  expect_refused(parse_server_status(edit(status, "global_accuracy", 1.5)), "status.global_accuracy");
  expect_refused(parse_server_status(edit(status, "global_loss", "0.1")), "status.global_loss");
  expect_refused(parse_server_status(edit(status, "loss_source", "guess")), "status.loss_source");
  expect_refused(parse_server_status(edit(status, "agent_list", json::array({edit(agent, "state", "gone")}))),
                 "status.agent_list[0].state");
  expect_refused(parse_server_status(edit(status, "history", json::array({point, edit(point, "updates", -1)}))),
                 "status.history[1].updates");
  expect_refused(parse_server_status(edit(status, "history", json::array({edit(point, "accuracy", -0.1)}))),
                 "status.history[0].accuracy");
  const json states = {{"active", 0}, {"idle", 0}, {"offline", 0}, {"quarantined", 0}};
  const json summary = edit(edit(status, "view", "summary"), "agent_states", states);
  REQUIRE(parse_server_status(summary).is_ok());
  expect_refused(parse_server_status(edit(status, "view", "everything")), "status.view");
  expect_refused(parse_server_status(edit(summary, "agent_list", json::array())), "a summary names no agent");
  expect_refused(parse_server_status(edit(status, "view", "summary")), "status.agent_states");
  expect_refused(parse_server_status(edit(summary, "agent_states", edit(states, "idle", -1))),
                 "status.agent_states.idle");
}
