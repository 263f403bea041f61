// POST /v1/telemetry bodies. A batch comes from an agent, so it is untrusted:
// unknown members are refused and every map and string is bounded.
#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"
#include "json_fields.hpp"

namespace edgefed {

using detail::Fields;
using detail::Need;
using nlohmann::json;

namespace {

constexpr size_t kMaxRecordsHardCap = 100000;  // whatever the caller passes

Status parse_values(const json& obj, Fields& f, std::map<std::string, double>& out) {
  if (obj.size() > kMaxTelemetryValues) {
    f.fail("values", "must have at most " + std::to_string(kMaxTelemetryValues) + " entries, got " +
                         std::to_string(obj.size()));
    return f.status();
  }
  for (const auto& [k, v] : obj.items()) {
    if (!valid_telemetry_key(k)) {
      f.fail("values", "key " + detail::short_dump(json(k)) + " must be 1-64 chars of [A-Za-z0-9._-]");
      return f.status();
    }
    // JSON cannot carry NaN or Inf, and a huge exponent parses to inf: refuse.
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      f.fail("values." + k, "must be a finite number, got " + detail::short_dump(v));
      return f.status();
    }
    out[k] = v.get<double>();
  }
  return Status::ok();
}

Status parse_labels(const json& obj, Fields& f, std::map<std::string, std::string>& out) {
  if (obj.size() > kMaxTelemetryLabels) {
    f.fail("labels", "must have at most " + std::to_string(kMaxTelemetryLabels) + " entries, got " +
                         std::to_string(obj.size()));
    return f.status();
  }
  for (const auto& [k, v] : obj.items()) {
    if (!valid_telemetry_key(k)) {
      f.fail("labels", "key " + detail::short_dump(json(k)) + " must be 1-64 chars of [A-Za-z0-9._-]");
      return f.status();
    }
    if (!v.is_string() || v.get_ref<const std::string&>().size() > kMaxTelemetryLabelBytes) {
      f.fail("labels." + k, "must be a string of at most " + std::to_string(kMaxTelemetryLabelBytes) +
                                " bytes, got " + detail::short_dump(v));
      return f.status();
    }
    out[k] = v.get<std::string>();
  }
  return Status::ok();
}

Result<TelemetryRecord> parse_record(const json& j, const std::string& where) {
  TelemetryRecord r;
  Fields f(j, where);
  f.only({"seq", "ts_ms", "kind", "values", "labels"})
      .integer("seq", r.seq, 1)
      .integer("ts_ms", r.ts_ms, 0)
      .one_of("kind", r.kind, {"train", "link", "system", "dropped", "model", "validation", "model_rejected", "drift"});
  if (const json* values = f.member("values", json::value_t::object, Need::kOptional)) {
    EDGEFED_RETURN_IF_ERROR(parse_values(*values, f, r.values));
  }
  if (const json* labels = f.member("labels", json::value_t::object, Need::kOptional)) {
    EDGEFED_RETURN_IF_ERROR(parse_labels(*labels, f, r.labels));
  }
  if (!f.ok()) return f.status();
  return r;
}

}  // namespace

json to_json(const TelemetryRecord& r) {
  json rec = {{"seq", r.seq}, {"ts_ms", r.ts_ms}, {"kind", r.kind}};
  if (!r.values.empty()) rec["values"] = r.values;
  if (!r.labels.empty()) rec["labels"] = r.labels;
  return rec;
}

Result<TelemetryRecord> parse_telemetry_record(const json& j) { return parse_record(j, "telemetry_record"); }

json to_json(const TelemetryBatch& b) {
  json records = json::array();
  for (const auto& r : b.records) records.push_back(to_json(r));
  return {{"agent_id", b.agent_id}, {"records", std::move(records)}};
}

Result<TelemetryBatch> parse_telemetry_batch(const json& j, size_t max_records) {
  max_records = std::min(max_records, kMaxRecordsHardCap);
  TelemetryBatch b;
  Fields f(j, "telemetry");
  f.only({"agent_id", "records"})
      .string("agent_id", b.agent_id, 64, valid_agent_id, "an agent id ([A-Za-z0-9._-], 1-64 chars)");
  const json* records = f.member("records", json::value_t::array);
  if (!f.ok()) return f.status();
  if (records->empty() || records->size() > max_records) {
    f.fail("records", "must hold 1 to " + std::to_string(max_records) + " records, got " +
                          std::to_string(records->size()));
    return f.status();
  }
  b.records.reserve(records->size());
  for (size_t i = 0; i < records->size(); ++i) {
    const std::string where = "telemetry.records[" + std::to_string(i) + "]";
    auto r = parse_record((*records)[i], where);
    if (!r) return r.status();
    if (!b.records.empty() && r->seq <= b.records.back().seq) {
      return Status(Code::kInvalidArgument, where + ".seq: must be greater than the previous record's (" +
                                                std::to_string(b.records.back().seq) + "), got " +
                                                std::to_string(r->seq));
    }
    b.records.push_back(std::move(r).value());
  }
  return b;
}

}  // namespace edgefed
