// Stateful server optimizers, per parameter i with the merged delta d as the
// pseudo-gradient (Reddi et al. 2021, Algorithm 2; FedAvgM: Hsu et al. 2019):
//   fedavgm     m = momentum m + d;                         x += lr m
//   fedadagrad  m = b1 m + (1-b1) d;  v = v + d^2;          x += lr m / (sqrt(v) + tau)
//   fedadam     m = b1 m + (1-b1) d;  v = b2 v + (1-b2) d^2; (same step)
//   fedyogi     m = b1 m + (1-b1) d;  v = v - (1-b2) d^2 sign(v - d^2); (same step)
// m starts at 0, v at tau^2 (the paper's v_{-1} >= tau^2); no bias
// correction (the paper has none). Moments are stored as float (the state
// is 4 or 8 bytes per parameter, checkpointed with every version); each
// step is computed in double from them and rounded once, so a restored
// optimizer continues bit for bit. State format: optimizer_state.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "server/aggregation/server_optimizer.hpp"

namespace edgefed::server {

class AdaptiveServerOptimizer final : public ServerOptimizer {
 public:
  using Kind = ServerOptimizerKind;
  // REQUIRES: options validated (make_server_optimizer does), kind not kSgd.
  AdaptiveServerOptimizer(Kind kind, const ServerOptimizerOptions& options);

  void apply(std::span<float> params, std::span<const float> delta) override;
  std::string state() const override;
  Status restore(std::string_view state) override;
  void reset() override;
  std::string_view name() const override;
  int64_t steps() const { return steps_; }
  const std::vector<float>& first_moment() const { return m_; }
  const std::vector<float>& second_moment() const { return v_; }

 private:
  Kind kind_;
  ServerOptimizerOptions o_;
  int64_t steps_ = 0;
  std::vector<float> m_;  // empty until the first apply() (sized from params)
  std::vector<float> v_;  // unused by fedavgm
};

}  // namespace edgefed::server
