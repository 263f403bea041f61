#include "device_mix.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>

#include "edgefed/protocol.hpp"

namespace edgefed::sim {
namespace {

bool parse_number(const std::string& s, double& out) {
  try {
    size_t pos = 0;
    out = std::stod(s, &pos);
    return pos == s.size() && std::isfinite(out);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

Result<std::vector<DeviceClass>> parse_device_mix(const std::string& text) {
  std::vector<DeviceClass> mix;
  std::stringstream ss(text);
  std::string item;
  double total = 0;
  while (std::getline(ss, item, ',')) {
    std::stringstream is(item);
    std::string name, share, slow, latency, up, down;
    if (!std::getline(is, name, ':') || !std::getline(is, share, ':') || !std::getline(is, slow, ':') ||
        name.empty())
      return Status(Code::kInvalidArgument,
                    "--device-mix: '" + item + "' is not NAME:SHARE:SLOWDOWN[:LATENCY_MS[:UP_MBIT[:DOWN_MBIT]]]");
    std::getline(is, latency, ':');
    std::getline(is, up, ':');
    std::getline(is, down, ':');
    if (std::string rest; std::getline(is, rest))
      return Status(Code::kInvalidArgument, "--device-mix: '" + item + "' has more than 6 fields");
    if (!valid_telemetry_key(name))
      return Status(Code::kInvalidArgument, "--device-mix: class name '" + name +
                                                "' must be 1-64 of [A-Za-z0-9_.-], starting alphanumeric");
    DeviceClass d{name, 0, 1};
    if (!parse_number(share, d.share) || d.share <= 0 || d.share > 1)
      return Status(Code::kInvalidArgument, "--device-mix: share of '" + name + "' must be in (0, 1]");
    if (!parse_number(slow, d.slowdown) || d.slowdown < 0.1 || d.slowdown > 100)
      return Status(Code::kInvalidArgument, "--device-mix: slowdown of '" + name + "' must be in [0.1, 100]");
    if (!latency.empty() && (!parse_number(latency, d.latency_ms) || d.latency_ms < 0 || d.latency_ms > 60000))
      return Status(Code::kInvalidArgument, "--device-mix: latency of '" + name + "' must be in [0, 60000] ms");
    if (!up.empty() && (!parse_number(up, d.uplink_mbit) || d.uplink_mbit <= 0 || d.uplink_mbit > 1e6))
      return Status(Code::kInvalidArgument, "--device-mix: uplink of '" + name + "' must be in (0, 1e6] Mbit/s");
    if (!down.empty() && (!parse_number(down, d.downlink_mbit) || d.downlink_mbit <= 0 || d.downlink_mbit > 1e6))
      return Status(Code::kInvalidArgument, "--device-mix: downlink of '" + name + "' must be in (0, 1e6] Mbit/s");
    total += d.share;
    mix.push_back(d);
  }
  if (mix.empty()) return Status(Code::kInvalidArgument, "--device-mix is empty");
  for (auto& d : mix) d.share /= total;
  return mix;
}

double fleet_dilation(const std::vector<DeviceClass>& devices, int cores, bool all_at_once) {
  double demand = 0, fastest = 0;  // in cores at dilation 1: a device's speed is 1/slowdown
  for (const auto& d : devices) {
    const double speed = 1.0 / std::max(1e-3, d.slowdown);
    demand += speed;
    fastest = std::max(fastest, speed);
  }
  if (all_at_once) demand = fastest * static_cast<double>(devices.size());
  return std::max(1.0, demand / (kFleetTimeHeadroom * std::max(1, cores)));
}

std::vector<DeviceClass> assign_devices(const std::vector<DeviceClass>& mix, int n, uint64_t seed) {
  // Largest-remainder apportionment: the counts sum to n exactly.
  std::vector<int> counts(mix.size());
  std::vector<std::pair<double, size_t>> rest;
  int used = 0;
  for (size_t i = 0; i < mix.size(); ++i) {
    const double exact = mix[i].share * n;
    counts[i] = static_cast<int>(std::floor(exact));
    used += counts[i];
    rest.push_back({exact - counts[i], i});
  }
  std::stable_sort(rest.begin(), rest.end(), [](auto a, auto b) { return a.first > b.first; });
  for (size_t k = 0; used < n; ++k, ++used) ++counts[rest[k % rest.size()].second];
  std::vector<DeviceClass> out;
  for (size_t i = 0; i < mix.size(); ++i) out.insert(out.end(), counts[i], mix[i]);
  std::mt19937_64 rng(seed ^ 0xD5A61266F0C9392CULL);
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

}  // namespace edgefed::sim
