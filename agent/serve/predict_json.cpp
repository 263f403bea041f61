#include "agent/serve/predict_json.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>

#include "edgefed/enum_names.hpp"

namespace edgefed::agent {

Result<ml::FeatureMatrix> parse_predict_request(std::string_view body, int64_t width, int64_t max_rows) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status(Code::kInvalidArgument, "the request body is not JSON");
  if (!j.is_object() || !j.contains("inputs") || !j["inputs"].is_array())
    return Status(Code::kInvalidArgument, "the request needs an \"inputs\" array of rows");
  const auto& rows = j["inputs"];
  if (rows.empty()) return Status(Code::kInvalidArgument, "\"inputs\" is empty");
  if (static_cast<int64_t>(rows.size()) > max_rows)
    return Status(Code::kPayloadTooLarge, std::to_string(rows.size()) + " inputs in one request, at most " +
                                              std::to_string(max_rows));
  ml::FeatureMatrix m(static_cast<int64_t>(rows.size()), width);
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (!row.is_array())
      return Status(Code::kInvalidArgument, "input " + std::to_string(r) + " is not an array of numbers");
    if (static_cast<int64_t>(row.size()) != width)
      return Status(Code::kDimensionMismatch, "input " + std::to_string(r) + " has " + std::to_string(row.size()) +
                                                  " features, the model takes " + std::to_string(width));
    for (size_t c = 0; c < row.size(); ++c) {
      if (!row[c].is_number())
        return Status(Code::kInvalidArgument,
                      "input " + std::to_string(r) + ", feature " + std::to_string(c) + " is not a number");
      const double v = row[c].get<double>();
      if (!std::isfinite(v) || std::fabs(v) > std::numeric_limits<float>::max())
        return Status(Code::kNonFinite,
                      "input " + std::to_string(r) + ", feature " + std::to_string(c) + " is not a finite float");
      m(static_cast<int64_t>(r), static_cast<int64_t>(c)) = static_cast<float>(v);
    }
  }
  return m;
}

std::string predictions_json(const PredictionBatch& batch) {
  nlohmann::json out;
  out["version"] = batch.version;
  out["task"] = std::string(enum_name(batch.task));
  auto& preds = out["predictions"] = nlohmann::json::array();
  for (const auto& p : batch.rows) {
    nlohmann::json e;
    switch (batch.task) {
      case ml::TaskType::kClassification:
        e["class"] = p.label;
        e["confidence"] = p.confidence;
        break;
      case ml::TaskType::kRegression: e["values"] = p.values; break;
      case ml::TaskType::kAutoencoder:
        e["score"] = p.score;
        e["anomaly"] = p.anomaly;
        break;
    }
    preds.push_back(std::move(e));
  }
  return out.dump();
}

std::string prediction_line(const PredictionBatch& batch, size_t row) {
  const Prediction& p = batch.rows[row];
  char buf[64];
  switch (batch.task) {
    case ml::TaskType::kClassification:
      std::snprintf(buf, sizeof buf, "%d %.6f", p.label, p.confidence);
      return buf;
    case ml::TaskType::kAutoencoder:
      std::snprintf(buf, sizeof buf, "%.9g %d", p.score, p.anomaly ? 1 : 0);
      return buf;
    case ml::TaskType::kRegression: break;
  }
  std::string line;
  for (size_t i = 0; i < p.values.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.9g", i ? " " : "", static_cast<double>(p.values[i]));
    line += buf;
  }
  return line;
}

}  // namespace edgefed::agent
