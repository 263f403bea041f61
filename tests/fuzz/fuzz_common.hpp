// Shared by the fuzz targets: the fixed layout updates are decoded against
// and a failure that is a bug in edgefed (not in the input).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "edgefed/model_layout.hpp"

namespace edgefed::fuzz {

// Small, so the fuzzer spends its time on structure rather than on values.
inline const ModelLayout& fuzz_layout() {
  static const ModelLayout layout = ModelLayout::mlp("mlp:4-3-2").value();
  return layout;
}

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// An oracle failed: abort so libFuzzer keeps the input as a crash.
[[noreturn]] inline void bug(const char* what) {
  std::fprintf(stderr, "oracle failed: %s\n", what);
  std::abort();
}

}  // namespace edgefed::fuzz
