#include "attack_mix.hpp"

#include <charconv>
#include <sstream>
#include <vector>

namespace edgefed::sim {
namespace {

bool parse_index(const std::string& s, int& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<std::set<int>> parse_agent_indices(const std::string& text, int agents) {
  std::set<int> out;
  std::stringstream list(text);
  for (std::string t; std::getline(list, t, ',');) {
    if (t.empty()) continue;
    const auto dash = t.find('-', 1);
    int lo = -1, hi = -1;
    const bool ok = dash == std::string::npos
                        ? parse_index(t, lo) && parse_index(t, hi)
                        : parse_index(t.substr(0, dash), lo) && parse_index(t.substr(dash + 1), hi);
    if (!ok || lo < 0 || hi < lo || hi >= agents)
      return Status(Code::kInvalidArgument,
                    "bad agent index '" + t + "' (0.." + std::to_string(agents - 1) + ", e.g. '0,3' or '0-3')");
    for (int i = lo; i <= hi; ++i) out.insert(i);
  }
  return out;
}

Result<std::map<int, agent::Attack>> assign_attacks(const std::set<int>& hostile, const std::string& mode) {
  std::vector<agent::Attack> cycle;
  if (mode == "mixed" || mode.rfind("mixed:", 0) == 0) {
    auto noise = agent::parse_attack(mode == "mixed" ? "noise" : "noise:" + mode.substr(6));
    if (!noise) return Status(Code::kInvalidArgument, "--attack-mode mixed:STDDEV needs a stddev > 0");
    cycle = {*agent::parse_attack("sign-flip"), *agent::parse_attack("scale:10"), *noise};
  } else {
    auto a = agent::parse_attack(mode);
    if (!a) return Status(Code::kInvalidArgument, "--attack-mode: " + a.status().message() + ", or mixed");
    if (a->kind == agent::Attack::Kind::kNone)
      return Status(Code::kInvalidArgument, "--attack-mode none: name an attack (or give no --attack-agents)");
    cycle = {*a};
  }
  std::map<int, agent::Attack> out;
  size_t k = 0;
  for (int i : hostile) out[i] = cycle[k++ % cycle.size()];
  return out;
}

}  // namespace edgefed::sim
