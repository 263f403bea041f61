#include "test_updates.hpp"

#include <stdexcept>

namespace edgefed::testing {

DecodedModel decode_model_or_throw(const std::string& body) {
  auto m = decode_model({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  if (!m) throw std::runtime_error("model: " + m.status().to_string());
  return std::move(m).value();
}

std::string make_update(const ModelLayout& layout, const std::string& agent_id, const std::string& update_id,
                        int64_t base_version, int64_t num_samples, const std::vector<float>& delta) {
  UpdateMetadata meta;
  meta.agent_id = agent_id;
  meta.update_id = update_id;
  meta.base_version = base_version;
  meta.num_samples = num_samples;
  meta.train_loss = 0.5;
  meta.encoding = Encoding::kF32;
  meta.layout_fingerprint = layout.fingerprint();
  auto body = encode_update(layout, delta, meta);
  if (!body) throw std::runtime_error("encode_update: " + body.status().to_string());
  return std::move(body).value();
}

std::string make_update(const ModelLayout& layout, const std::string& agent_id, const std::string& update_id,
                        int64_t base_version, int64_t num_samples, float value) {
  return make_update(layout, agent_id, update_id, base_version, num_samples,
                     std::vector<float>(static_cast<size_t>(layout.size()), value));
}

}  // namespace edgefed::testing
