// The JSON bodies and metadata of wire contract v1 (docs/architecture.md), with
// to/from JSON and validation. JSON Schemas for each live in schemas/ (prose:
// schemas/README.md) and tests/schema keeps the two in agreement. Every parse_*
// returns kInvalidArgument with a message naming the offending field
// ("task.lr: must be a number > 0, got -1"); none throws.
//
// Unknown members: bodies the server receives from agents (telemetry batch)
// refuse them, since they are untrusted input; bodies agents receive from the
// server (task, acks, status, errors) tolerate them, so a newer server can add
// fields without breaking agents that are still rolling out.
// Integers accept JSON numbers with an integral value (1.0 is 1), as JSON
// Schema's "integer" does. to_json REQUIRES finite doubles (JSON has no NaN).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "edgefed/enum_names.hpp"
#include "edgefed/status.hpp"

namespace edgefed {

// How the server merges updates: "async" (FedBuff: buffered,
// staleness-weighted) or "sync" (FedAvg rounds). The names are wire text
// (task.mode, status.mode) and the server's --mode values.
enum class MergeMode { kAsync, kSync };
inline constexpr EnumName<MergeMode> kMergeModeNames[] = {{MergeMode::kAsync, "async"}, {MergeMode::kSync, "sync"}};
constexpr std::span<const EnumName<MergeMode>> enum_names(MergeMode) { return kMergeModeNames; }

// Secure aggregation (docs/secure-aggregation.md): off, or SecAgg+ sessions
// per sync round / async cohort in which the server learns only the sum.
// The names are --secure-aggregation's values and task wire text.
enum class SecureAggregation { kOff, kSecAggPlus };
inline constexpr EnumName<SecureAggregation> kSecureAggregationNames[] = {{SecureAggregation::kOff, "off"},
                                                                          {SecureAggregation::kSecAggPlus, "secagg+"}};
constexpr std::span<const EnumName<SecureAggregation>> enum_names(SecureAggregation) {
  return kSecureAggregationNames;
}

// How an update's delta is encoded on the wire (update_codec.hpp describes
// each). The names are wire text (update metadata, task.encoding) and the
// --task-encoding values.
enum class Encoding { kF32, kF16, kInt8, kTopK };
inline constexpr EnumName<Encoding> kEncodingNames[] = {
    {Encoding::kF32, "f32"}, {Encoding::kF16, "f16"}, {Encoding::kInt8, "int8"}, {Encoding::kTopK, "topk"}};
constexpr std::span<const EnumName<Encoding>> enum_names(Encoding) { return kEncodingNames; }

// Agent ids: 1-64 chars of [A-Za-z0-9._-], starting alphanumeric. They come
// from certificate CNs and Kubernetes node names and become SQLite keys,
// metric labels and file names, hence the narrow alphabet.
bool valid_agent_id(std::string_view id);
// Update ids: 1-128 chars of [A-Za-z0-9._:-].
bool valid_update_id(std::string_view id);

// "__metadata__" of a POST /v1/updates body (safetensors metadata is
// string -> string, so numbers travel as decimal strings there).
struct UpdateMetadata {
  std::string agent_id;
  std::string update_id;
  int64_t base_version = 0;  // >= 0
  int64_t num_samples = 0;   // >= 1
  double train_loss = 0.0;   // finite, >= 0
  Encoding encoding = Encoding::kF32;
  std::string layout_fingerprint;  // 16 hex digits
  // Optional: the agent's input standardisation (ml::Normalizer's compact
  // JSON, a JSON object of at most kMaxNormalizerBytes), "" = none. Checked
  // here for size and shape only; the server parses it.
  std::string normalizer;
};
inline constexpr size_t kMaxNormalizerBytes = 1 << 20;
std::map<std::string, std::string> to_metadata(const UpdateMetadata& m);
Result<UpdateMetadata> parse_update_metadata(const std::map<std::string, std::string>& md);

// 202 answer to POST /v1/updates.
struct UpdateAck {
  int64_t version = 0;    // server version when the update was accepted
  int64_t staleness = 0;  // version - base_version
  double weight = 0.0;    // num_samples x s(staleness)
  bool duplicate = false; // true when this update_id was seen before
};
nlohmann::json to_json(const UpdateAck& a);
Result<UpdateAck> parse_update_ack(const nlohmann::json& j);

// GET /v1/task.
struct Task {
  std::string agent_id;
  int64_t model_version = 0;
  std::string layout_fingerprint;
  MergeMode mode = MergeMode::kAsync;
  int64_t round = 0;           // sync: the round this plan is for
  int epochs = 1;              // >= 0; epochs or steps (or both) > 0
  int64_t steps = 0;           // 0 = whole epochs
  int batch_size = 32;         // >= 1
  double lr = 0.05;            // > 0
  double momentum = 0.9;       // [0, 1)
  double weight_decay = 0.0;   // >= 0
  double proximal_mu = 0.0;    // >= 0 (FedProx)
  double clip_norm = 0.0;      // 0 = off
  Encoding encoding = Encoding::kF32;
  int64_t deadline_unix_ms = 0;  // 0 = none
  double topk_fraction = 0.1;    // (0, 1]: share kept when encoding is "topk"
  // The model's architecture (ml::ModelSpec's canonical JSON text; "" =
  // none given), sent as a JSON object: an agent refuses a task whose
  // layer types or loss it does not know before it downloads anything.
  std::string model_spec;
  // Serving channels (server/engine/serving_channels.hpp): the version this
  // agent should serve to its application, after its own validation, and
  // why ("stable" | "canary"). -1 / "": channels off, serve the newest
  // version that passes local validation.
  int64_t serve_version = -1;
  std::string serve_channel;
  // Secure aggregation (server --secure-aggregation): kSecAggPlus = send
  // no plain update; join a session (POST /v1/secagg/join) and send the
  // masked update through it. Absent on the wire = off.
  SecureAggregation secure_aggregation = SecureAggregation::kOff;
  double secagg_clip = 0.0;  // the session's quantizer bound C (secagg+ only)
  // Secure aggregation moves these to the agent (0 = off): clip the
  // update's L2 norm to update_clip_norm before masking, and with
  // dp_noise_multiplier z > 0 send num_samples 1 (uniform weights, as
  // DP-FedAvg) and add N(0, (z * update_clip_norm)^2 / t) to each
  // coordinate, t the session's threshold: the sum over the at least t
  // survivors then carries at least the central mechanism's noise.
  double update_clip_norm = 0.0;
  double dp_noise_multiplier = 0.0;
};
nlohmann::json to_json(const Task& t);
Result<Task> parse_task(const nlohmann::json& j);

// POST /v1/telemetry: a batch of one agent's records, seq strictly increasing.
// A record has this one type and one JSON form (to_json / parse_telemetry_record
// below) everywhere it exists: in the agent's outbox, in a batch on the wire
// and in the server's store.
struct TelemetryRecord {
  int64_t seq = 0;      // >= 1, per agent, stable across agent restarts
  int64_t ts_ms = 0;    // unix milliseconds when measured
  std::string kind = "train";  // "train" | "link" | "system" | "dropped" | "model" | "validation" | "model_rejected" | "drift"
  std::map<std::string, double> values;  // finite numbers, e.g. "loss"
  std::map<std::string, std::string> labels;  // e.g. "link_state": "offline"
};
// Bounds on one record, so a batch cannot smuggle unbounded maps into storage.
inline constexpr size_t kMaxTelemetryValues = 64;   // entries of values
inline constexpr size_t kMaxTelemetryLabels = 32;   // entries of labels
inline constexpr size_t kMaxTelemetryLabelBytes = 256;  // bytes of one label value
// Keys of values and labels: 1-64 chars of [A-Za-z0-9_.-], starting alphanumeric.
bool valid_telemetry_key(std::string_view key);
// One record as JSON: {"seq","ts_ms","kind"} plus "values" and "labels" when
// not empty (schemas/telemetry-batch.schema.json, records[]).
nlohmann::json to_json(const TelemetryRecord& r);
// Refuses what a batch would refuse in this record (unknown members, bad
// keys, non-finite values, oversized maps) with kInvalidArgument.
Result<TelemetryRecord> parse_telemetry_record(const nlohmann::json& j);

struct TelemetryBatch {
  std::string agent_id;
  std::vector<TelemetryRecord> records;  // 1..max, seq strictly increasing
};
nlohmann::json to_json(const TelemetryBatch& b);
Result<TelemetryBatch> parse_telemetry_batch(const nlohmann::json& j, size_t max_records = 1000);

struct TelemetryAck {
  int64_t acked_through = 0;  // every seq <= this is stored
};
nlohmann::json to_json(const TelemetryAck& a);
Result<TelemetryAck> parse_telemetry_ack(const nlohmann::json& j);

// GET /v1/status (the server may add fields; these are the contract).
struct AgentStatus {
  std::string agent_id;
  std::string state;  // "active" | "idle" | "offline" | "quarantined"
  int64_t last_seen_unix_ms = 0;
  int64_t updates = 0;
  double last_staleness = 0;
  double outlier_score = 0;
  std::string device_class;  // from its system telemetry; written when known
};
struct VersionPoint {
  int64_t version = 0;
  int64_t unix_ms = 0;
  std::optional<double> loss;      // global loss (eval or reported)
  std::optional<double> accuracy;  // global accuracy when evaluated
  double gradient_variance = 0;
  int64_t updates = 0;
  std::optional<double> mae;       // regression: MAE when evaluated (written when set)
};
// Agents per state, for the summary that names no agent.
struct AgentStateCounts {
  int64_t active = 0;
  int64_t idle = 0;
  int64_t offline = 0;
  int64_t quarantined = 0;
};
// The serving channels (which version the fleet serves), written when set.
struct ServingSummary {
  bool enabled = false;
  int64_t stable = -1;            // the version agents outside the cohort serve
  int64_t canary = -1;            // the version the cohort tries (-1: none)
  int64_t cohort_size = 0;
  int64_t agents_on_stable = 0;   // by the version agents last reported serving
  int64_t agents_on_canary = 0;
  int64_t agents_on_other = 0;
  std::optional<double> stable_validation;  // the fleet's validation metric of stable
  std::string metric;             // "accuracy" | "loss" ("" before any validation)
};
// This server's place among the replicas sharing a PostgreSQL store
// (docs/replicas.md), written when set.
struct ReplicaSummary {
  std::string name;              // this replica
  bool leader = false;           // it merges versions now
  std::string leader_name;       // the live leader ("" while there is none)
  int64_t live_replicas = 0;     // replicas with a recent heartbeat, this one included
  int64_t database_version = -1; // the newest version in the database
  double clock_skew_s = 0;       // this replica's clock minus the database's
};
struct ServerStatus {
  // "full" (agent_list present) or "summary" (what callers without the
  // viewer or admin role may get: agent_states, no agent_list).
  std::string view = "full";
  int64_t model_version = 0;
  MergeMode mode = MergeMode::kAsync;
  std::string layout;  // "784-128-10"
  int64_t updates_accepted = 0;
  int64_t updates_merged = 0;
  int64_t telemetry_records = 0;
  int64_t agents = 0;  // known agents
  std::optional<double> global_loss;
  std::optional<double> global_accuracy;
  std::string loss_source;  // "eval" | "reported"
  // From the server's evaluation, written when set: the model's task
  // ("classification" | "regression" | "autoencoder") and the metrics of
  // regression (MAE, RMSE, in the eval data's units) and autoencoders (the
  // share of held-out samples above the anomaly threshold).
  std::string task;
  std::optional<double> global_mae;
  std::optional<double> global_rmse;
  std::optional<double> global_anomaly_share;
  double gradient_variance = 0;
  std::vector<AgentStatus> agent_list;
  std::optional<AgentStateCounts> agent_states;  // written when set
  std::vector<VersionPoint> history;
  std::optional<ServingSummary> serving;  // written when set
  std::optional<ReplicaSummary> replica;  // written when set
};
nlohmann::json to_json(const ServerStatus& s);
// The summary of a full status: view "summary", agent_states counted from
// agent_list, agent_list dropped. Nothing in it names an agent.
ServerStatus anonymous_summary(ServerStatus s);
Result<ServerStatus> parse_server_status(const nlohmann::json& j);

// 4xx/5xx bodies: {"error": {"code": "too_stale", "message": "..."}}.
// status.hpp's error_body(Status) writes the same shape as a string.
struct ErrorBody {
  Code code = Code::kInternal;  // never kOk
  std::string message;
  Status to_status() const { return Status(code, message); }
};
nlohmann::json to_json(const ErrorBody& e);
Result<ErrorBody> parse_error_body(const nlohmann::json& j);
// The Code whose code_name() is `name`, if any ("ok" is not an error code).
std::optional<Code> error_code_from_name(std::string_view name);
// An error answer as a Status: the code and message of its JSON error body,
// or code_for_http_status(http_status) with "HTTP <status>" when the body is
// not one (a proxy's HTML page, an empty body). kOk for a 2xx status.
Status status_from_http(int http_status, std::string_view body);

// JSON texts nest at most this deep (an object in an array in ... counts each).
inline constexpr int kMaxJsonDepth = 64;

// Parses text to JSON without throwing: kPayloadTooLarge above max_bytes,
// kInvalidArgument on bad JSON, invalid UTF-8, nesting above kMaxJsonDepth or
// an object with the same key twice.
// The depth is checked on the raw text before any value is built.
Result<nlohmann::json> parse_json(std::string_view text, size_t max_bytes = 4u << 20);

}  // namespace edgefed
