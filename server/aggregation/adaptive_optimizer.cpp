#include "server/aggregation/adaptive_optimizer.hpp"

#include <cmath>

#include "server/aggregation/optimizer_state.hpp"

namespace edgefed::server {

AdaptiveServerOptimizer::AdaptiveServerOptimizer(Kind kind, const ServerOptimizerOptions& options)
    : kind_(kind), o_(options) {}

std::string_view AdaptiveServerOptimizer::name() const { return enum_name(kind_); }

void AdaptiveServerOptimizer::apply(std::span<float> params, std::span<const float> delta) {
  const size_t n = params.size();
  if (m_.size() != n) {
    // First step (or a new size, which reset() should have announced).
    m_.assign(n, 0.0f);
    if (kind_ != Kind::kFedAvgM) v_.assign(n, static_cast<float>(o_.tau * o_.tau));
    steps_ = 0;
  }
  const double lr = o_.lr;
  if (kind_ == Kind::kFedAvgM) {
    const double mu = o_.momentum;
    for (size_t i = 0; i < n; ++i) {
      m_[i] = static_cast<float>(mu * m_[i] + delta[i]);
      params[i] = static_cast<float>(params[i] + lr * m_[i]);
    }
  } else {
    const double b1 = o_.beta1, b2 = o_.beta2, tau = o_.tau;
    for (size_t i = 0; i < n; ++i) {
      const double d = delta[i];
      const double d2 = d * d;
      const double v = v_[i];
      double next_v = v;
      switch (kind_) {
        case Kind::kFedAdagrad:
          next_v = v + d2;
          break;
        case Kind::kFedAdam:
          next_v = b2 * v + (1 - b2) * d2;
          break;
        case Kind::kFedYogi:
          next_v = v - (1 - b2) * d2 * static_cast<double>((v > d2) - (v < d2));
          break;
        case Kind::kFedAvgM:
        case Kind::kSgd:
          break;
      }
      m_[i] = static_cast<float>(b1 * m_[i] + (1 - b1) * d);
      v_[i] = static_cast<float>(next_v);
      params[i] = static_cast<float>(params[i] + lr * m_[i] / (std::sqrt(static_cast<double>(v_[i])) + tau));
    }
  }
  ++steps_;
}

std::string AdaptiveServerOptimizer::state() const {
  if (m_.empty() && steps_ == 0) return {};
  OptimizerState s;
  s.name = std::string(name());
  s.steps = steps_;
  s.slots.push_back(m_);
  if (kind_ != Kind::kFedAvgM) s.slots.push_back(v_);
  return encode_optimizer_state(s);
}

Status AdaptiveServerOptimizer::restore(std::string_view bytes) {
  reset();
  if (bytes.empty()) return Status::ok();
  auto s = decode_optimizer_state(bytes);
  if (!s.is_ok()) return s.status();
  if (s->name != name()) {
    return Status(Code::kInvalidArgument, "optimizer state was written by " + s->name + ", not " + std::string(name()));
  }
  const size_t slots = kind_ == Kind::kFedAvgM ? 1 : 2;
  if (s->slots.size() != slots) return Status(Code::kInvalidArgument, "optimizer state has the wrong slot count");
  steps_ = s->steps;
  m_ = std::move(s->slots[0]);
  if (slots == 2) v_ = std::move(s->slots[1]);
  return Status::ok();
}

void AdaptiveServerOptimizer::reset() {
  steps_ = 0;
  m_.clear();
  v_.clear();
}

}  // namespace edgefed::server
