#include "server/monitor/process_collector.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <prometheus/metric_family.h>

namespace edgefed::server::monitor {
namespace {

prometheus::MetricFamily one(const char* name, const char* help, prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

// Fields of /proc/self/stat after the command name (which may hold spaces).
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream rest(line.substr(close + 2));
  for (std::string f; rest >> f;) out.push_back(f);
  return out;  // out[0] is field 3 (state)
}

double boot_time_s() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double max_open_files() {
  std::ifstream in("/proc/self/limits");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream s(line.substr(14));
      std::string soft;
      s >> soft;
      return soft == "unlimited" ? -1 : std::stod(soft);
    }
  }
  return -1;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const auto f = stat_fields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // Field numbers (proc(5)) minus 3: utime 14, stime 15, num_threads 20,
  // starttime 22, vsize 23, rss 24.
  if (f.size() > 21 && ticks > 0) {
    out.push_back(one("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                      MetricType::Counter, (std::stod(f[11]) + std::stod(f[12])) / ticks));
    out.push_back(one("process_threads", "Number of OS threads in the process.", MetricType::Gauge, std::stod(f[17])));
    out.push_back(one("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                      MetricType::Gauge, boot_time_s() + std::stod(f[19]) / ticks));
    out.push_back(one("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                      std::stod(f[20])));
    out.push_back(one("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                      std::stod(f[21]) * page));
  }
  std::error_code ec;
  double fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (!ec) out.push_back(one("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds));
  const double max_fds = max_open_files();
  if (max_fds >= 0) {
    out.push_back(one("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge, max_fds));
  }
  return out;
}

}  // namespace edgefed::server::monitor
