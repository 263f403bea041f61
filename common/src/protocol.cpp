// Identifiers, acks, the task plan and error bodies of wire contract v1.
// Telemetry and status bodies live in protocol_telemetry.cpp and
// protocol_status.cpp; the shared field reader in json_fields.hpp.
#include "edgefed/protocol.hpp"

#include <nlohmann/json.hpp>

#include "json_fields.hpp"

namespace edgefed {

using detail::Fields;
using detail::Need;
using detail::Range;
using nlohmann::json;

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// 1..max_len chars, the first alphanumeric (if first_alnum), the rest
// alphanumeric or in `extra`.
bool token(std::string_view s, size_t max_len, std::string_view extra, bool first_alnum) {
  if (s.empty() || s.size() > max_len) return false;
  if (first_alnum && !is_alnum(s.front())) return false;
  for (char c : s) {
    if (!is_alnum(c) && extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool valid_fingerprint(std::string_view s) {
  if (s.size() != 16) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

constexpr int64_t kMaxEpochs = 1000;
constexpr int64_t kMaxBatch = 1 << 20;
constexpr size_t kMaxModelSpecBytes = 64 * 1024;  // ml::ModelSpec::kMaxTextBytes

}  // namespace

bool valid_agent_id(std::string_view id) { return token(id, 64, "._-", true); }
bool valid_update_id(std::string_view id) { return token(id, 128, "._:-", false); }
bool valid_telemetry_key(std::string_view key) { return token(key, 64, "._-", true); }

json to_json(const UpdateAck& a) {
  return {{"version", a.version}, {"staleness", a.staleness}, {"weight", a.weight}, {"duplicate", a.duplicate}};
}

Result<UpdateAck> parse_update_ack(const json& j) {
  UpdateAck a;
  Fields f(j, "update_ack");
  f.integer("version", a.version, 0)
      .integer("staleness", a.staleness, 0)
      .number("weight", a.weight, Range::at_least(0))
      .boolean("duplicate", a.duplicate, Need::kOptional);
  if (!f.ok()) return f.status();
  if (a.staleness > a.version) {
    f.fail("staleness", "must not exceed version (" + std::to_string(a.version) + "), got " +
                            std::to_string(a.staleness));
    return f.status();
  }
  return a;
}

json to_json(const TelemetryAck& a) { return {{"acked_through", a.acked_through}}; }

Result<TelemetryAck> parse_telemetry_ack(const json& j) {
  TelemetryAck a;
  Fields f(j, "telemetry_ack");
  f.integer("acked_through", a.acked_through, 0);
  if (!f.ok()) return f.status();
  return a;
}

json to_json(const Task& t) {
  json j = {{"agent_id", t.agent_id},
          {"model_version", t.model_version},
          {"layout_fingerprint", t.layout_fingerprint},
          {"mode", t.mode},
          {"round", t.round},
          {"epochs", t.epochs},
          {"steps", t.steps},
          {"batch_size", t.batch_size},
          {"lr", t.lr},
          {"momentum", t.momentum},
          {"weight_decay", t.weight_decay},
          {"proximal_mu", t.proximal_mu},
          {"clip_norm", t.clip_norm},
          {"encoding", t.encoding},
          {"topk_fraction", t.topk_fraction},
          {"deadline_unix_ms", t.deadline_unix_ms}};
  if (!t.model_spec.empty()) {
    json spec = json::parse(t.model_spec, nullptr, false);
    if (spec.is_object()) j["model_spec"] = std::move(spec);
  }
  if (t.serve_version >= 0) {
    j["serve_version"] = t.serve_version;
    j["serve_channel"] = t.serve_channel;
  }
  if (t.secure_aggregation != SecureAggregation::kOff) {
    j["secure_aggregation"] = t.secure_aggregation;
    j["secagg_clip"] = t.secagg_clip;
    if (t.update_clip_norm > 0) j["update_clip_norm"] = t.update_clip_norm;
    if (t.dp_noise_multiplier > 0) j["dp_noise_multiplier"] = t.dp_noise_multiplier;
  }
  return j;
}

Result<Task> parse_task(const json& j) {
  Task t;
  Fields f(j, "task");
  f.string("agent_id", t.agent_id, 64, valid_agent_id, "an agent id ([A-Za-z0-9._-], 1-64 chars)")
      .integer("model_version", t.model_version, 0)
      .string("layout_fingerprint", t.layout_fingerprint, 16, valid_fingerprint, "16 lowercase hex digits")
      .one_of("mode", t.mode)
      .integer("round", t.round, 0, std::numeric_limits<int64_t>::max(), Need::kOptional)
      .integer("epochs", t.epochs, 0, kMaxEpochs)
      .integer("steps", t.steps, 0)
      .integer("batch_size", t.batch_size, 1, kMaxBatch)
      .number("lr", t.lr, Range::above(0))
      .number("momentum", t.momentum, Range::half_open(0, 1), Need::kOptional)
      .number("weight_decay", t.weight_decay, Range::at_least(0), Need::kOptional)
      .number("proximal_mu", t.proximal_mu, Range::at_least(0), Need::kOptional)
      .number("clip_norm", t.clip_norm, Range::at_least(0), Need::kOptional)
      .one_of("encoding", t.encoding)
      .number("topk_fraction", t.topk_fraction, Range::open_closed(0, 1), Need::kOptional)
      .integer("deadline_unix_ms", t.deadline_unix_ms, 0, std::numeric_limits<int64_t>::max(), Need::kOptional)
      .integer("serve_version", t.serve_version, 0, std::numeric_limits<int64_t>::max(), Need::kOptional)
      .one_of("secure_aggregation", t.secure_aggregation, Need::kOptional);
  if (f.ok() && t.secure_aggregation != SecureAggregation::kOff) {
    f.number("secagg_clip", t.secagg_clip, Range::above(0))
        .number("update_clip_norm", t.update_clip_norm, Range::at_least(0), Need::kOptional)
        .number("dp_noise_multiplier", t.dp_noise_multiplier, Range::at_least(0), Need::kOptional);
    if (f.ok() && t.dp_noise_multiplier > 0 && !(t.update_clip_norm > 0))
      f.fail("dp_noise_multiplier", "needs update_clip_norm > 0");
  }
  if (auto it = j.find("serve_channel"); f.ok() && it != j.end()) {
    if (!it->is_string() || (*it != "stable" && *it != "canary"))
      f.fail("serve_channel", "must be \"stable\" or \"canary\"");
    else
      t.serve_channel = it->get<std::string>();
  }
  if (f.ok() && t.epochs == 0 && t.steps == 0) f.fail("epochs", "epochs or steps must be > 0");
  if (!f.ok()) return f.status();
  if (auto it = j.find("model_spec"); it != j.end()) {
    // Checked layer by layer by ml::ModelSpec; here only its form and size.
    if (!it->is_object()) return Status(Code::kInvalidArgument, "task.model_spec: must be a JSON object");
    t.model_spec = it->dump();
    if (t.model_spec.size() > kMaxModelSpecBytes)
      return Status(Code::kInvalidArgument, "task.model_spec: larger than " + std::to_string(kMaxModelSpecBytes) + " bytes");
  }
  return t;
}

std::optional<Code> error_code_from_name(std::string_view name) {
  // Codes are contiguous from kInvalidArgument to kIo (status.hpp); a test
  // round-trips every one, so a code added past kIo is caught there.
  for (int c = static_cast<int>(Code::kInvalidArgument); c <= static_cast<int>(Code::kIo); ++c) {
    if (code_name(static_cast<Code>(c)) == name) return static_cast<Code>(c);
  }
  return std::nullopt;
}

Status status_from_http(int http_status, std::string_view body) {
  if (http_status >= 200 && http_status < 300) return Status::ok();
  // Error bodies are small; a huge one is not ours.
  constexpr size_t kMaxErrorBody = 1u << 20;
  if (auto j = parse_json(body, kMaxErrorBody)) {
    if (auto e = parse_error_body(*j)) return e->to_status();
  }
  return Status(code_for_http_status(http_status), "HTTP " + std::to_string(http_status));
}

json to_json(const ErrorBody& e) {
  return {{"error", {{"code", std::string(code_name(e.code))}, {"message", e.message}}}};
}

Result<ErrorBody> parse_error_body(const json& j) {
  Fields outer(j, "");
  const json* inner = outer.member("error", json::value_t::object);
  if (inner == nullptr) return outer.status();
  Fields f(*inner, "error");
  std::string code;
  ErrorBody e;
  f.string("code", code, 64).string("message", e.message, 64 * 1024);
  if (!f.ok()) return f.status();
  const auto c = error_code_from_name(code);
  if (!c) {
    f.fail("code", "is not a known error code, got \"" + code + "\"");
    return f.status();
  }
  e.code = *c;
  return e;
}

}  // namespace edgefed
