#include "server/aggregation/staleness.hpp"

#include <cmath>
#include <sstream>

namespace edgefed::server {

Result<StalenessFunction> StalenessFunction::create(const std::string& kind, double a, double b) {
  StalenessFunction f;
  if (kind == "constant") {
    f.kind_ = Kind::kConstant;
  } else if (kind == "polynomial") {
    f.kind_ = Kind::kPolynomial;
  } else if (kind == "hinge") {
    f.kind_ = Kind::kHinge;
  } else {
    return Result<StalenessFunction>(Code::kInvalidArgument,
                                     "staleness function must be constant, polynomial or hinge, not '" + kind + "'");
  }
  if (f.kind_ != Kind::kConstant && !(std::isfinite(a) && a >= 0)) {
    return Result<StalenessFunction>(Code::kInvalidArgument, "staleness a must be finite and >= 0");
  }
  if (f.kind_ == Kind::kHinge && !(std::isfinite(b) && b >= 0)) {
    return Result<StalenessFunction>(Code::kInvalidArgument, "staleness b must be finite and >= 0");
  }
  f.a_ = a;
  f.b_ = b;
  return f;
}

double StalenessFunction::operator()(int64_t tau) const {
  const double t = tau < 0 ? 0.0 : static_cast<double>(tau);
  switch (kind_) {
    case Kind::kConstant:
      return 1.0;
    case Kind::kPolynomial:
      return std::pow(1.0 + t, -a_);
    case Kind::kHinge:
      return t <= b_ ? 1.0 : 1.0 / (a_ * (t - b_) + 1.0);
  }
  return 1.0;
}

std::string StalenessFunction::describe() const {
  std::ostringstream out;
  switch (kind_) {
    case Kind::kConstant:
      out << "constant";
      break;
    case Kind::kPolynomial:
      out << "polynomial(a=" << a_ << ")";
      break;
    case Kind::kHinge:
      out << "hinge(a=" << a_ << ",b=" << b_ << ")";
      break;
  }
  return out.str();
}

}  // namespace edgefed::server
