// edgefed-bench-aggregate: how fast the aggregation kernels merge N client
// updates of D floats, and how much memory they need.
//   edgefed-bench-aggregate --clients 100 --params 1000000 --method fedavg --threads 1 --repeat 5 --json
//   edgefed-bench-aggregate --clients 1000 --params 1000000 --method fedavg --stream --json
// Without --stream all N updates are held (N x D floats) and the timed part is
// one aggregation over them. With --stream (fedavg only) each update is
// produced into one reusable buffer, as if it had just arrived from the
// network, and accumulated into a double sum: O(D) memory for any N; the
// timed part is the accumulation (update production is reported apart).
// Human-readable lines first; with --json one JSON object on the last line.
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "edgefed/options.hpp"
#include "rss.hpp"
#include "server/aggregation/kernels/aggregation_kernels.hpp"
#include "synthetic_updates.hpp"

extern char** environ;

namespace {

using namespace edgefed;
namespace kernels = edgefed::server::kernels;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU seconds of the whole process (all threads): with other jobs on the
// machine, wall time drifts while CPU time per aggregation does much less.
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct Setup {
  std::string method;
  size_t clients = 0, params = 0, krum_f = 0, krum_m = 0;
  int threads = 1, repeat = 1;
  bool stream = false;
  bool hugepages = true;
  double beta = 0.1;
};

struct Timing {
  std::vector<double> seconds;   // per repeat: the timed aggregation
  std::vector<double> cpu;       // per repeat: its CPU seconds
  double produce_seconds = 0.0;  // stream: producing the updates (all repeats)
  double checksum = 0.0;         // sum of the result, so nothing is optimised away
};

double sum_of(std::span<const float> v) { return std::accumulate(v.begin(), v.end(), 0.0); }

// FedAvg over a stream: one update buffer, one double accumulator.
Timing run_stream(const Setup& s, const bench::SyntheticUpdates& gen) {
  Timing t;
  std::vector<float> update(s.params), mean(s.params);
  std::vector<double> acc(s.params);
  for (int rep = 0; rep < s.repeat; ++rep) {
    std::fill(acc.begin(), acc.end(), 0.0);
    double total = 0.0, timed = 0.0, cpu = 0.0;
    for (size_t r = 0; r < s.clients; ++r) {
      const auto p0 = Clock::now();
      gen.fill(r, update);
      t.produce_seconds += since(p0);
      const auto a0 = Clock::now();
      const double c0 = cpu_now();
      const double w = gen.weight(r);
      kernels::accumulate(acc, update, w);
      total += w;
      cpu += cpu_now() - c0;
      timed += since(a0);
    }
    const auto m0 = Clock::now();
    const double c0 = cpu_now();
    for (size_t i = 0; i < s.params; ++i) mean[i] = static_cast<float>(acc[i] / total);
    t.cpu.push_back(cpu + cpu_now() - c0);
    t.seconds.push_back(timed + since(m0));
  }
  t.checksum = sum_of(mean);
  return t;
}

// One aggregation over the held N x D matrix; returns its checksum.
double aggregate_once(const Setup& s, const kernels::UpdateMatrix& u, std::span<const double> weights,
                      std::span<float> out) {
  if (s.method == "fedavg") {
    kernels::weighted_sum(u, weights, out, s.threads);
  } else if (s.method == "median") {
    kernels::coordinate_median(u, out, s.threads);
  } else if (s.method == "trimmed") {
    kernels::trimmed_mean(u, s.beta, out, s.threads);
  } else {  // krum: distances, selection, plain mean of the m selected
    std::vector<double> d(s.clients * s.clients);
    kernels::pairwise_sq_distances(u, d, s.threads);
    const auto chosen = kernels::multi_krum_select(d, s.clients, s.krum_f, s.krum_m);
    std::vector<double> acc(s.params, 0.0);
    for (size_t r : chosen) kernels::accumulate(acc, {u.data + r * u.dim, u.dim}, 1.0 / double(chosen.size()));
    for (size_t i = 0; i < s.params; ++i) out[i] = static_cast<float>(acc[i]);
  }
  return sum_of(out);
}

// The N x D matrix, from mmap. With hugepages it is advised MADV_HUGEPAGE,
// as numpy does for every array of 4 MB or more (so both sides of the
// comparison get 2 MiB pages where THP is in "madvise" mode): the order
// statistics read 100 rows 4 MB apart per tile, which costs a TLB walk per
// row with 4 KiB pages.
class HeldMatrix {
 public:
  HeldMatrix(size_t floats, bool hugepages) : bytes_(std::max<size_t>(floats * sizeof(float), 1)) {
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (hugepages) madvise(p, bytes_, MADV_HUGEPAGE);
    data_ = static_cast<float*>(p);
  }
  ~HeldMatrix() { munmap(data_, bytes_); }
  HeldMatrix(const HeldMatrix&) = delete;
  HeldMatrix& operator=(const HeldMatrix&) = delete;
  float* data() { return data_; }

 private:
  size_t bytes_;
  float* data_ = nullptr;
};

Timing run_held(const Setup& s, const bench::SyntheticUpdates& gen) {
  HeldMatrix rows(s.clients * s.params, s.hugepages);
  for (size_t r = 0; r < s.clients; ++r) gen.fill(r, {rows.data() + r * s.params, s.params});
  std::vector<double> weights(s.clients);
  double total = 0.0;
  for (size_t r = 0; r < s.clients; ++r) total += weights[r] = gen.weight(r);
  for (double& w : weights) w /= total;
  const kernels::UpdateMatrix u{rows.data(), s.clients, s.params};
  std::vector<float> out(s.params);
  Timing t;
  for (int rep = 0; rep < s.repeat; ++rep) {
    const auto t0 = Clock::now();
    const double c0 = cpu_now();
    t.checksum = aggregate_once(s, u, weights, out);
    t.cpu.push_back(cpu_now() - c0);
    t.seconds.push_back(since(t0));
  }
  return t;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The command line; the initial values are the defaults.
struct Flags {
  int64_t clients = 100, params = 1000000, threads = 1, repeat = 5, krum_f = -1, krum_m = 0;
  std::string method = "fedavg";
  bool hugepages = true, stream = false, json = false;
  double beta = 0.1;
  uint64_t seed = 1;
};

Setup setup_from(const Flags& opt) {
  Setup s;
  s.method = opt.method;
  if (s.method != "fedavg" && s.method != "median" && s.method != "trimmed" && s.method != "krum")
    throw ConfigError("--method must be fedavg, median, trimmed or krum");
  s.clients = static_cast<size_t>(opt.clients);
  s.params = static_cast<size_t>(opt.params);
  s.threads = static_cast<int>(opt.threads);
  s.repeat = static_cast<int>(opt.repeat);
  s.stream = opt.stream;
  s.hugepages = opt.hugepages;
  if (s.stream && s.method != "fedavg")
    throw ConfigError("--stream is for fedavg: median, trimmed mean and Krum need all K updates at once");
  s.beta = opt.beta;
  const auto cut = static_cast<size_t>(s.beta * double(s.clients));
  if (!(s.beta >= 0 && s.beta < 0.5) || s.clients < 2 * cut + 1) throw ConfigError("--beta must be in [0, 0.5)");
  const int64_t f = opt.krum_f, m = opt.krum_m;
  s.krum_f = f >= 0 ? static_cast<size_t>(f) : s.clients / 10;
  s.krum_m = m > 0 ? static_cast<size_t>(m) : s.clients - std::min(s.clients - 1, s.krum_f);
  if (s.method == "krum" && (s.clients <= 2 * s.krum_f + 2 || s.krum_m > s.clients))
    throw ConfigError("multi-Krum needs clients > 2 f + 2 and 1 <= m <= clients");
  return s;
}

int run(const Flags& opt) {
  const Setup s = setup_from(opt);
  const auto t0 = Clock::now();
  const bench::SyntheticUpdates gen(s.params, opt.seed);
  const Timing t = s.stream ? run_stream(s, gen) : run_held(s, gen);
  const double total_s = since(t0);
  std::vector<double> sorted = t.seconds;
  std::sort(sorted.begin(), sorted.end());
  const double median_s = median_of(t.seconds), cpu_s = median_of(t.cpu);
  const double update_mb = double(s.params) * sizeof(float) / (1024.0 * 1024.0);
  const double bytes = double(s.clients) * double(s.params) * sizeof(float);
  const double peak = bench::peak_rss_mb();

  std::printf("%s %s: %zu clients x %zu params, %d thread(s): %.4f s per aggregation (min %.4f, cpu %.4f, %d repeats), %.2f GB/s of updates\n",
              s.method.c_str(), s.stream ? "stream" : "held", s.clients, s.params, s.threads, median_s, sorted.front(),
              cpu_s, s.repeat, bytes / median_s / 1e9);
  std::printf("peak RSS %.1f MiB (one update %.1f MiB)%s\n", peak, update_mb,
              s.stream ? (peak < 4 * update_mb + 20 ? ", under 4 x update + 20 MiB" : ", OVER 4 x update + 20 MiB") : "");
  if (opt.json) {
    nlohmann::json j{{"method", s.method},
                     {"clients", s.clients},
                     {"params", s.params},
                     {"threads", s.threads},
                     {"stream", s.stream},
                     {"hugepages", s.hugepages},
                     {"repeat", s.repeat},
                     {"seconds", median_s},
                     {"seconds_min", sorted.front()},
                     {"cpu_seconds", cpu_s},
                     {"update_gb_per_s", bytes / median_s / 1e9},
                     {"peak_rss_mb", peak},
                     {"update_mb", update_mb},
                     {"produce_seconds", t.produce_seconds},
                     {"total_seconds", total_s},
                     {"checksum", t.checksum}};
    if (s.method == "trimmed") j["beta"] = s.beta;
    if (s.method == "krum") j["krum_f"] = s.krum_f, j["krum_m"] = s.krum_m;
    std::cout << j.dump() << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  edgefed::Options opt("edgefed-bench-aggregate", "Speed and memory of the aggregation kernels.");
  Flags flags;
  opt.bind("clients", &flags.clients, "number of client updates N").at_least(1);
  opt.bind("params", &flags.params, "floats per update D").at_least(1);
  opt.bind("method", &flags.method, "fedavg, median, trimmed or krum");
  opt.bind("threads", &flags.threads, "threads the kernel may use").at_least(1);
  opt.bind("repeat", &flags.repeat, "aggregations to time; the median is reported").at_least(1);
  opt.bind("hugepages", &flags.hugepages, "held matrix: madvise(MADV_HUGEPAGE), as numpy does for large arrays");
  opt.bind("stream", &flags.stream, "fedavg: produce and accumulate updates one at a time (O(D) memory)");
  opt.bind("beta", &flags.beta, "trimmed mean: fraction cut at each end");
  opt.bind("krum-f", &flags.krum_f, "multi-Krum: assumed hostile clients (-1: clients / 10)");
  opt.bind("krum-m", &flags.krum_m, "multi-Krum: updates averaged (0: clients - f)");
  opt.bind("seed", &flags.seed, "data seed");
  opt.bind("json", &flags.json, "print one JSON object on the last line");
  try {
    opt.parse(argc, argv, environ);
    if (opt.help_requested()) {
      std::cout << opt.help_text();
      return 0;
    }
    return run(flags);
  } catch (const edgefed::ConfigError& e) {
    std::cerr << "edgefed-bench-aggregate: " << e.what() << "\n";
    return 2;
  }
}
