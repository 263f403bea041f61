// Real sensor data from the Debian package python3-vega-datasets, used when
// installed: tests that need it are skipped (with a warning) otherwise.
#pragma once

#include <filesystem>
#include <string>

namespace edgefed::test {

// The path of a vega_datasets data file, or "" when it is not installed.
inline std::string vega_file(const std::string& name) {
  const std::string path = "/usr/lib/python3/dist-packages/vega_datasets/_data/" + name;
  return std::filesystem::exists(path) ? path : std::string();
}

}  // namespace edgefed::test

// Catch2 v2 has no SKIP(): warn and leave the test case.
#define EDGEFED_SKIP_WITHOUT(path)                           \
  do {                                                       \
    if ((path).empty()) {                                    \
      WARN("python3-vega-datasets not installed; skipped");  \
      return;                                                \
    }                                                        \
  } while (0)
