// Test support: building update bodies for the model a server serves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgefed/model_io.hpp"
#include "edgefed/update_codec.hpp"

namespace edgefed::testing {

// Decodes a GET /v1/model body (throws std::runtime_error on failure).
DecodedModel decode_model_or_throw(const std::string& body);

// An f32 update body for `layout`: delta filled with `value` (or the given
// delta), metadata as given.
std::string make_update(const ModelLayout& layout, const std::string& agent_id, const std::string& update_id,
                        int64_t base_version, int64_t num_samples, float value);
std::string make_update(const ModelLayout& layout, const std::string& agent_id, const std::string& update_id,
                        int64_t base_version, int64_t num_samples, const std::vector<float>& delta);

}  // namespace edgefed::testing
