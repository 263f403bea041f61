// Models as safetensors files: what the server serves at GET /v1/model, what
// checkpoints hold, what an agent keeps on disk to train offline. F32 only.
// Metadata carries "format"="edgefed-model", "layout_fingerprint", "version",
// "model_spec" (the architecture, when the layout has one: a file describes
// itself), "normalizer" (Model::normalizer, when set) and the caller's
// extra keys, so Python's safetensors.numpy.load_file opens it.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "edgefed/model_layout.hpp"
#include "edgefed/safetensors.hpp"
#include "edgefed/status.hpp"

namespace edgefed {

std::string encode_model(const Model& model, int64_t version,
                         const std::map<std::string, std::string>& extra_metadata = {});

struct DecodedModel {
  Model model;
  int64_t version = 0;
  std::map<std::string, std::string> metadata;
};

// Rebuilds the layout from the file's tensors (in file order) and its
// "model_spec" metadata (the architecture, not checked here). If `expected`
// is given, the layout must match it (kDimensionMismatch otherwise). Rejects
// non-F32 tensors and NaN/Inf values (kNonFinite).
// Metadata is optional (a plain safetensors file from elsewhere loads, as
// version 0); when present, "layout_fingerprint" must match the tensors
// (kDimensionMismatch) and "version" must be a decimal integer >= 0.
// Other errors: parse_safetensors's, and kInvalidArgument for a file without
// tensors or one the layout rules refuse (e.g. a 0 dimension).
Result<DecodedModel> decode_model(std::span<const uint8_t> bytes,
                                  const ModelLayout* expected = nullptr);

}  // namespace edgefed
