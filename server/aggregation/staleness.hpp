// Staleness discounts s(tau) for asynchronous (and stale synchronous)
// updates; an update's weight is num_samples x s(tau), tau = server version at
// merge - base_version (>= 0).
//   constant    s = 1
//   polynomial  s = (1 + tau)^-a                       (FedAsync, FedBuff)
//   hinge       s = 1 if tau <= b, else 1 / (a (tau - b) + 1)   (FedAsync)
// Immutable after creation, so safe to share between threads.
#pragma once

#include <cstdint>
#include <string>

#include "edgefed/status.hpp"

namespace edgefed::server {

class StalenessFunction {
 public:
  enum class Kind { kConstant, kPolynomial, kHinge };

  StalenessFunction() = default;  // constant
  // kind: "constant" | "polynomial" | "hinge". Fails with kInvalidArgument on
  // an unknown kind, a < 0 (polynomial, hinge) or b < 0 (hinge).
  static Result<StalenessFunction> create(const std::string& kind, double a, double b);

  // s(tau) in (0, 1]; tau < 0 is treated as 0.
  double operator()(int64_t tau) const;
  Kind kind() const { return kind_; }
  std::string describe() const;  // "polynomial(a=0.5)"

 private:
  Kind kind_ = Kind::kConstant;
  double a_ = 0.0;
  double b_ = 0.0;
};

}  // namespace edgefed::server
