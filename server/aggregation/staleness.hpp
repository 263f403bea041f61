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

#include "edgefed/enum_names.hpp"
#include "edgefed/status.hpp"

namespace edgefed::server {

// The discount functions; the names are --staleness-fn's.
enum class StalenessKind { kConstant, kPolynomial, kHinge };
inline constexpr EnumName<StalenessKind> kStalenessNames[] = {{StalenessKind::kConstant, "constant"},
                                                              {StalenessKind::kPolynomial, "polynomial"},
                                                              {StalenessKind::kHinge, "hinge"}};
constexpr std::span<const EnumName<StalenessKind>> enum_names(StalenessKind) { return kStalenessNames; }

class StalenessFunction {
 public:
  using Kind = StalenessKind;

  StalenessFunction() = default;  // constant
  // kInvalidArgument for a < 0 or not finite (polynomial, hinge) or b < 0
  // (hinge). Pure: builds nothing.
  static Status check(Kind kind, double a, double b);
  // check(), then the function.
  static Result<StalenessFunction> create(Kind kind, double a, double b);

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
