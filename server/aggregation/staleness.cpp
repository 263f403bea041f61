#include "server/aggregation/staleness.hpp"

#include <cmath>
#include <sstream>

namespace edgefed::server {

Status StalenessFunction::check(Kind kind, double a, double b) {
  if (kind != Kind::kConstant && !(std::isfinite(a) && a >= 0)) {
    return Status(Code::kInvalidArgument, "staleness a must be finite and >= 0");
  }
  if (kind == Kind::kHinge && !(std::isfinite(b) && b >= 0)) {
    return Status(Code::kInvalidArgument, "staleness b must be finite and >= 0");
  }
  return Status::ok();
}

Result<StalenessFunction> StalenessFunction::create(Kind kind, double a, double b) {
  if (Status st = check(kind, a, b); !st.is_ok()) return st;
  StalenessFunction f;
  f.kind_ = kind;
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
  out << enum_name(kind_);
  switch (kind_) {
    case Kind::kConstant:
      break;
    case Kind::kPolynomial:
      out << "(a=" << a_ << ")";
      break;
    case Kind::kHinge:
      out << "(a=" << a_ << ",b=" << b_ << ")";
      break;
  }
  return out.str();
}

}  // namespace edgefed::server
