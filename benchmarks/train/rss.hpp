// Resident memory of this process, for benchmark reports.
#pragma once

namespace edgefed::bench {

// Peak resident set size so far in MiB (getrusage ru_maxrss).
double peak_rss_mb();
// Current resident set size in MiB (/proc/self/statm), 0 if unavailable.
double current_rss_mb();

}  // namespace edgefed::bench
