// Readings of the device for telemetry, from /proc and /sys. Every reading
// is optional: a missing file (containers, other kernels) yields nullopt.
//
// Thread safety: the functions are thread-safe (they only read files).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace edgefed::agent {

// Resident set size of this process (VmRSS), bytes.
std::optional<int64_t> resident_bytes();
// Peak resident set size (VmHWM), bytes.
std::optional<int64_t> peak_resident_bytes();
// CPU temperature in degrees Celsius from /sys/class/thermal: the first zone
// whose type names a CPU package ("x86_pkg_temp", "cpu*", "soc*"), else
// thermal_zone0. `root` is for tests ("/sys/class/thermal").
std::optional<double> cpu_temperature_c(const std::string& root = "/sys/class/thermal");

// Creates `path` if absent and sets its modification time to now (K3s exec
// probes check its age). false on failure.
bool touch_file(const std::string& path);

}  // namespace edgefed::agent
