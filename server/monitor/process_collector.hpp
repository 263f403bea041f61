// Process metrics read from /proc/self at scrape time (prometheus-cpp 1.0
// has no process collector): the standard names process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds and
// process_threads. Thread-safe (Collect only reads /proc). Linux only; on
// read errors the affected family is left out of the scrape.
#pragma once

#include <prometheus/collectable.h>

namespace edgefed::server::monitor {

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace edgefed::server::monitor
