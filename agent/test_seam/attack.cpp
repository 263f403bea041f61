#include "agent/test_seam/attack.hpp"

#include <cmath>
#include <cstdlib>

#include "edgefed/ml/rng.hpp"

namespace edgefed::agent {
namespace {

// A finite number filling all of `text`, or NaN.
double number(const std::string& text) {
  if (text.empty()) return std::nan("");
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(v) ? v : std::nan("");
}

std::string format(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

Result<Attack> parse_attack(const std::string& text) {
  Attack a;
  if (text.empty() || text == "none") return a;
  if (text == "sign-flip") {
    a.kind = Attack::Kind::kSignFlip;
    return a;
  }
  if (text == "noise") {
    a.kind = Attack::Kind::kNoise;
    a.value = kDefaultNoiseStddev;
    return a;
  }
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  const double v = colon == std::string::npos ? std::nan("") : number(text.substr(colon + 1));
  if (kind == "scale" && std::isfinite(v)) {
    a.kind = Attack::Kind::kScale;
    a.value = v;
    return a;
  }
  if (kind == "noise" && v > 0) {
    a.kind = Attack::Kind::kNoise;
    a.value = v;
    return a;
  }
  return Status(Code::kInvalidArgument,
                "attack '" + text + "': expected none, sign-flip, scale:FACTOR, noise or noise:STDDEV (> 0)");
}

std::string to_string(const Attack& a) {
  switch (a.kind) {
    case Attack::Kind::kNone: return "none";
    case Attack::Kind::kSignFlip: return "sign-flip";
    case Attack::Kind::kScale: return "scale:" + format(a.value);
    case Attack::Kind::kNoise: return "noise:" + format(a.value);
  }
  return "none";
}

void apply_attack(const Attack& a, std::span<float> delta, uint64_t seed) {
  switch (a.kind) {
    case Attack::Kind::kNone: return;
    case Attack::Kind::kSignFlip:
      for (float& d : delta) d = -d;
      return;
    case Attack::Kind::kScale:
      for (float& d : delta) d = static_cast<float>(d * a.value);
      return;
    case Attack::Kind::kNoise: {
      ml::Rng rng = ml::Rng::derive(seed, 0xA77AC4);
      for (float& d : delta) d = static_cast<float>(a.value * rng.normal());
      return;
    }
  }
}

}  // namespace edgefed::agent
