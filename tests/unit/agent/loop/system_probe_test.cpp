#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "agent/loop/system_probe.hpp"
#include "scratch_dir.hpp"

using namespace edgefed::agent;

TEST_CASE("system probe reads RSS and prefers the CPU thermal zone", "[unit]") {
  // The current size first: the peak read after it can only be larger (the
  // other order failed when the process grew between the two reads, seen
  // under qemu-user, whose own allocations are the process's).
  const int64_t now = resident_bytes().value_or(0);
  CHECK(now > 0);
  CHECK(peak_resident_bytes().value_or(0) >= now);

  edgefed::testing::ScratchDir dir;
  CHECK_FALSE(cpu_temperature_c(dir.path()).has_value());
  auto zone = [&](const std::string& name, const std::string& type, const std::string& temp) {
    std::filesystem::create_directories(dir.file(name));
    std::ofstream(dir.file(name + "/type")) << type << "\n";
    std::ofstream(dir.file(name + "/temp")) << temp << "\n";
  };
  zone("thermal_zone0", "acpitz", "27800");
  CHECK(cpu_temperature_c(dir.path()).value_or(0) == Approx(27.8));
  zone("thermal_zone1", "x86_pkg_temp", "55000");
  CHECK(cpu_temperature_c(dir.path()).value_or(0) == Approx(55.0));
  zone("thermal_zone1", "x86_pkg_temp", "garbage");
  CHECK_FALSE(cpu_temperature_c(dir.path()).has_value());
}

TEST_CASE("health file is created and its time refreshed", "[unit]") {
  edgefed::testing::ScratchDir dir;
  const std::string f = dir.file("health");
  REQUIRE(touch_file(f));
  struct stat st {};
  REQUIRE(::stat(f.c_str(), &st) == 0);
  CHECK(touch_file(f));
  CHECK_FALSE(touch_file(dir.file("no/such/dir/health")));
}
