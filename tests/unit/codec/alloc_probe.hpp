// Counts heap allocations made through operator new while armed, so a test
// can show that refusing a hostile size allocates nothing proportional to it.
// alloc_probe.cpp replaces the global operator new/delete of the test binary.
#pragma once

#include <cstddef>

namespace edgefed::test {

struct AllocStats {
  size_t count = 0;
  size_t largest = 0;  // bytes of the largest single allocation
  size_t total = 0;
};

// Starts counting (resets the figures); stop returns them. Not thread-safe:
// arm it only around single-threaded code.
void start_alloc_probe();
AllocStats stop_alloc_probe();

}  // namespace edgefed::test
