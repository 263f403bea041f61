// The JSON of the local prediction endpoint (POST /v1/predict):
//   request   {"inputs": [[f, f, ...], ...]}   one row of input_size() numbers
//             per sample (images flattened row-major, [0, 1]; a series window
//             channel-major: x[c * W + k])
//   response  {"version": N, "task": "classification", "predictions": [...]}
//             classification  {"class": 3, "confidence": 0.97}
//             regression      {"values": [..]}
//             autoencoder     {"score": 0.012, "anomaly": false}
// and the same predictions as text lines for `edgefed-agent predict`.
//
// Thread safety: free functions. Errors: kInvalidArgument (not JSON, no
// "inputs" array, a row that is not an array, a value that is not a
// number), kPayloadTooLarge (more than max_rows rows), kDimensionMismatch (a
// row of another width), kNonFinite (a value out of float range).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/serve/predictor.hpp"
#include "edgefed/ml/dataset.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

Result<ml::FeatureMatrix> parse_predict_request(std::string_view body, int64_t width, int64_t max_rows);

std::string predictions_json(const PredictionBatch& batch);

// One line per prediction: "class confidence", the values separated by
// spaces, or "score anomaly(0|1)".
std::string prediction_line(const PredictionBatch& batch, size_t row);

}  // namespace edgefed::agent
