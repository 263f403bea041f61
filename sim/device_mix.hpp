// Device profiles: a fleet is a mix of hardware classes, each slower than the
// reference machine by a factor (a Celeron-class device takes 4x as long for
// the same training round). Agents get their class deterministically from
// the seed, in the mix's proportions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::sim {

struct DeviceClass {
  std::string name;     // "celeron"
  double share = 0;     // of the fleet, (0, 1]
  double slowdown = 1;  // >= 0.1; 4 = four times slower
  // Its link, in fleet time only (0 = loopback: no latency, no limit).
  double latency_ms = 0;    // per request (one model download, one update upload per round)
  double uplink_mbit = 0;   // Mbit/s for the update
  double downlink_mbit = 0; // Mbit/s for the model
};

// "celeron:0.3:4,i3:0.3:2,i5:0.3:1,i7:0.1:0.7"; shares are normalised.
// Each class may add its link, NAME:SHARE:SLOWDOWN:LATENCY_MS:UP_MBIT:DOWN_MBIT
// ("lte-gw:0.2:3:60:5:20"; trailing fields may be left out).
Result<std::vector<DeviceClass>> parse_device_mix(const std::string& text);

// The class of each of n agents: counts follow the shares (largest
// remainder), positions are shuffled by the seed.
std::vector<DeviceClass> assign_devices(const std::vector<DeviceClass>& mix, int n, uint64_t seed);

// Fleet time's dilation for these devices (slowdowns normalised, >= 1) on
// `cores` cores: a paced device computes 1/(slowdown x dilation) of the
// time, so the fleet keeps sum(1/slowdown)/dilation cores busy with
// training; the dilation holds that to kFleetTimeHeadroom of the cores
// (the rest is for the server, TLS, SQLite, encoding and the evaluator,
// which are not paced). At least 1.
//
// `all_at_once` (sync rounds): every device starts its round when the round
// opens, so for a moment all of them compute together and share the cores;
// the fastest device's round must still fit its budget, which takes
// devices / (fastest's 1/slowdown) instead of the sum: n / (headroom x
// cores) with the fastest at slowdown 1. Measured with 100 agents: the
// sum's dilation (46.75) left 17 % of a sync round-of-all's device rounds
// behind their device time.
inline constexpr double kFleetTimeHeadroom = 0.5;
double fleet_dilation(const std::vector<DeviceClass>& devices, int cores, bool all_at_once = false);

}  // namespace edgefed::sim
