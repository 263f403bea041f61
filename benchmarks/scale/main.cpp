// edgefed-bench-scale: many concurrent agent connections to one server.
// A few "active" agents push updates while the others stay connected,
// long-polling for the next model and posting telemetry after each poll.
// Phases: (1) the active agents alone, (2) ramp up the idle connections
// gradually (TLS handshakes with client certificates), (3) everything at
// once. Prints, for (1) and (3): server RSS, server CPU, push p50/p99 of the
// active agents; and memory per idle connection. --json adds one JSON object
// on the last line. Certificates are issued in memory from the PKI's CA.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cert_forge.hpp"
#include "edgefed/https_client.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/options.hpp"
#include "edgefed/tls.hpp"
#include "fleet.hpp"

extern char** environ;
using namespace edgefed;
using namespace edgefed::bench;
namespace net = boost::asio;

namespace {

struct ProcSample {
  double cpu_s = 0;
  double rss_mb = 0;
  double hwm_mb = 0;
  int64_t fds = 0;
};

ProcSample sample(long pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  if (const auto close = all.rfind(')'); close != std::string::npos) {
    std::istringstream fields(all.substr(close + 2));
    std::string f;
    double ticks = 0;
    for (int i = 3; fields >> f && i <= 15; ++i)
      if (i == 14 || i == 15) ticks += std::stod(f);
    s.cpu_s = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_mb = std::stod(line.substr(6)) / 1024.0;
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_mb = std::stod(line.substr(6)) / 1024.0;
  }
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (readdir(d)) ++s.fds;
    closedir(d);
    s.fds -= 2;
  }
  return s;
}

struct Window {
  double t0 = 0, t1 = 0;
  ProcSample p0, p1;
  int64_t polls0 = 0, polls1 = 0, telemetry0 = 0, telemetry1 = 0;
};

struct Figures {
  double p50 = 0, p99 = 0, pushes_per_s = 0, cpu_pct = 0, rss_mb = 0;
  double polls_per_s = 0, telemetry_per_s = 0;
  int64_t n = 0;
};

Figures figures(FleetStats& stats, const Window& w) {
  Figures f;
  std::vector<double> lat;
  {
    std::lock_guard lock(stats.mu);
    for (const auto& [t, ms] : stats.push_latency)
      if (t >= w.t0 && t < w.t1) lat.push_back(ms);
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))]; };
  const double secs = w.t1 - w.t0;
  f.n = static_cast<int64_t>(lat.size());
  f.p50 = pct(0.50);
  f.p99 = pct(0.99);
  f.pushes_per_s = static_cast<double>(lat.size()) / secs;
  f.cpu_pct = 100.0 * (w.p1.cpu_s - w.p0.cpu_s) / secs;
  f.rss_mb = w.p1.rss_mb;
  f.polls_per_s = static_cast<double>(w.polls1 - w.polls0) / secs;
  f.telemetry_per_s = static_cast<double>(w.telemetry1 - w.telemetry0) / secs;
  return f;
}

// 10,000 connections need more descriptors than the usual soft limit of
// 1024: raise the soft limit to the hard one (the launcher need not ulimit).
int64_t raise_nofile() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur == RLIM_INFINITY ? -1 : static_cast<int64_t>(r.rlim_cur);
}

double now_s(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  Options o("edgefed-bench-scale", "Many concurrent agent connections: push latency of active agents while the rest idle.");
  std::string url = "https://127.0.0.1:8443", pki;
  int idle_n = 9900, active_n = 100;
  double push_interval = 1, poll_wait = 10, rate = 400, measure = 30, settle = 10;
  int64_t max_hs = 128, server_pid = 0;
  bool json = false;
  o.bind("url", &url, "server URL (IP address and port)");
  o.bind("pki", &pki, "edgefed-certs directory: ca.pem + ca.key issue the agents' certificates, admin.pem reads the model");
  o.bind("idle", &idle_n, "idle connections (long poll + telemetry)").at_least(0);
  o.bind("active", &active_n, "agents pushing updates").at_least(0);
  o.bind("push-interval", &push_interval, "seconds between one active agent's pushes (jittered 0.5-1.5x; 0 = closed loop)");
  o.bind("poll-wait", &poll_wait, "idle long-poll wait in seconds; one telemetry post follows each poll");
  o.bind("ramp-rate", &rate, "new idle connections per second");
  o.bind("max-handshakes", &max_hs, "idle connections connecting at once");
  o.bind("measure", &measure, "seconds of each measurement window");
  o.bind("settle", &settle, "seconds to wait after the ramp before measuring");
  o.bind("server-pid", &server_pid, "pid of the server (RSS, CPU)");
  o.bind("json", &json, "print one JSON object on the last line");
  try {
    o.parse(argc, argv, environ);
    if (o.help_requested()) return std::cout << o.help_text(), 0;
  } catch (const std::exception& e) {
    return std::cerr << "edgefed-bench-scale: " << e.what() << "\n", 2;
  }
  const int64_t nofile = raise_nofile();
  const int idle_wanted = idle_n + active_n;
  if (nofile >= 0 && nofile < idle_wanted + 64)
    std::fprintf(stderr, "edgefed-bench-scale: RLIMIT_NOFILE is %lld, too few for %d connections (raise the hard limit)\n",
                 static_cast<long long>(nofile), idle_wanted);
  const auto colon = url.rfind(':');
  if (url.rfind("https://", 0) != 0 || colon == std::string::npos)
    return std::cerr << "edgefed-bench-scale: --url must be https://IP:PORT\n", 2;
  const std::string host = url.substr(8, colon - 8);
  const auto port = static_cast<uint16_t>(std::stoi(url.substr(colon + 1)));

  // The current model: layout for the pushes, version for the polls.
  HttpsClientOptions probe;
  probe.host = host;
  probe.port = port;
  probe.tls = {pki + "/ca.pem", pki + "/admin.pem", pki + "/admin.key"};
  auto client = HttpsClient::create(probe);
  if (!client) return std::cerr << "edgefed-bench-scale: " << client.status().to_string() << "\n", 1;
  auto r = (*client)->get("/v1/model");
  if (!r || r->status != 200) return std::cerr << "edgefed-bench-scale: cannot GET /v1/model\n", 1;
  auto model = decode_model({reinterpret_cast<const uint8_t*>(r->body.data()), r->body.size()});
  if (!model) return std::cerr << "edgefed-bench-scale: " << model.status().to_string() << "\n", 1;

  FleetConfig cfg;
  cfg.server = net::ip::tcp::endpoint(net::ip::make_address(host), port);
  cfg.start = std::chrono::steady_clock::now();
  cfg.poll_wait_s = poll_wait;
  cfg.push_interval_s = push_interval;
  cfg.layout = std::make_shared<const ModelLayout>(model->model.layout);
  cfg.run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const int64_t version = model->version;

  auto forge = CertForge::open(pki + "/ca.pem", pki + "/ca.key");
  if (!forge) return std::cerr << "edgefed-bench-scale: " << forge.status().to_string() << "\n", 1;
  std::vector<Identity> ids;
  const auto f0 = std::chrono::steady_clock::now();
  for (int i = 0; i < active_n + idle_n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%s-%05d", i < active_n ? "active" : "idle", i);
    auto id = forge->issue(name);
    if (!id) return std::cerr << "edgefed-bench-scale: " << id.status().to_string() << "\n", 1;
    ids.push_back(std::move(id).value());
  }
  std::printf("issued %zu client certificates in %.1f s\n", ids.size(), now_s(f0));

  net::ssl::context ctx = make_client_context({pki + "/ca.pem", "", ""});
  FleetStats active_stats, idle_stats;
  net::io_context active_ioc(1), idle_ioc(1);
  auto active_guard = net::make_work_guard(active_ioc);
  auto idle_guard = net::make_work_guard(idle_ioc);
  for (int i = 0; i < active_n; ++i)
    std::make_shared<ActiveAgent>(active_ioc, ctx, cfg, active_stats, ids[i], version)->start();
  std::thread active_thread([&] { active_ioc.run(); });
  std::thread idle_thread([&] { idle_ioc.run(); });

  auto window = [&](double seconds) {
    Window w;
    w.t0 = now_s(cfg.start);
    w.p0 = sample(server_pid);
    w.polls0 = idle_stats.polls;
    w.telemetry0 = idle_stats.telemetry;
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
    w.t1 = now_s(cfg.start);
    w.p1 = sample(server_pid);
    w.polls1 = idle_stats.polls;
    w.telemetry1 = idle_stats.telemetry;
    return w;
  };

  // (1) active agents alone.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const Window base = window(measure);
  const Figures fb = figures(active_stats, base);
  std::printf("phase 1: %d active, 0 idle: server RSS %.1f MB, CPU %.0f%%, %.1f pushes/s, push p50 %.1f ms, p99 %.1f ms\n",
              active_n, fb.rss_mb, fb.cpu_pct, fb.pushes_per_s, fb.p50, fb.p99);
  std::fflush(stdout);

  // (2) ramp: start idle agents at --ramp-rate, at most --max-handshakes at once.
  const auto r0 = std::chrono::steady_clock::now();
  int started = 0;
  double last_print = 0;
  while (started < idle_n) {
    const double t = now_s(r0);
    const int due = std::min(idle_n, static_cast<int>(t * rate) + 1);
    while (started < due && idle_stats.connecting.load() < max_hs) {
      auto agent = std::make_shared<IdleAgent>(idle_ioc, ctx, cfg, idle_stats, ids[active_n + started], version);
      ++idle_stats.connecting;  // now, not when the io thread gets to it
      net::post(idle_ioc, [agent] { agent->start(true); });
      ++started;
    }
    if (t - last_print >= 5) {
      last_print = t;
      std::printf("  ramp %.0f s: %lld connected, %lld connecting, %lld failed\n", t,
                  static_cast<long long>(idle_stats.connected.load()), static_cast<long long>(idle_stats.connecting.load()),
                  static_cast<long long>(idle_stats.connect_failures.load()));
      std::fflush(stdout);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  while (idle_stats.connecting.load() > 0 && now_s(r0) < 600) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double ramp_s = now_s(r0);
  std::printf("phase 2: %lld of %d idle connections up in %.1f s (%lld connect failures)\n",
              static_cast<long long>(idle_stats.connected.load()), idle_n, ramp_s,
              static_cast<long long>(idle_stats.connect_failures.load()));
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(settle * 1000)));

  // (3) everything at once.
  const int64_t idle_up = idle_stats.connected;
  const Window loaded = window(measure);
  const Figures fl = figures(active_stats, loaded);
  const double kb_per_conn = idle_up > 0 ? (loaded.p1.rss_mb - base.p1.rss_mb) * 1024.0 / static_cast<double>(idle_up) : 0;
  std::printf("phase 3: %d active + %lld idle: server RSS %.1f MB (peak %.1f), %lld fds, CPU %.0f%%, %.1f pushes/s, "
              "push p50 %.1f ms, p99 %.1f ms; idle traffic %.0f polls/s + %.0f telemetry posts/s\n",
              active_n, static_cast<long long>(idle_up), fl.rss_mb, loaded.p1.hwm_mb,
              static_cast<long long>(loaded.p1.fds), fl.cpu_pct, fl.pushes_per_s, fl.p50, fl.p99, fl.polls_per_s,
              fl.telemetry_per_s);
  std::printf("server memory per idle connection: %.1f KB; errors: %lld active, %lld idle\n", kb_per_conn,
              static_cast<long long>(active_stats.errors.load()), static_cast<long long>(idle_stats.errors.load()));
  if (!active_stats.first_error.empty()) std::printf("  first active error: %s\n", active_stats.first_error.c_str());
  if (!idle_stats.first_error.empty()) std::printf("  first idle error: %s\n", idle_stats.first_error.c_str());
  if (json) {
    nlohmann::json j{{"active", active_n}, {"idle_requested", idle_n}, {"idle_connected", idle_up},
                     {"ramp_s", ramp_s}, {"connect_failures", idle_stats.connect_failures.load()},
                     {"server_rss_mb_base", fb.rss_mb}, {"server_rss_mb", fl.rss_mb}, {"server_peak_rss_mb", loaded.p1.hwm_mb},
                     {"server_fds", loaded.p1.fds}, {"kb_per_connection", kb_per_conn},
                     {"server_cpu_pct_base", fb.cpu_pct}, {"server_cpu_pct", fl.cpu_pct},
                     {"push_p50_ms_base", fb.p50}, {"push_p99_ms_base", fb.p99},
                     {"push_p50_ms", fl.p50}, {"push_p99_ms", fl.p99},
                     {"pushes_per_s_base", fb.pushes_per_s}, {"pushes_per_s", fl.pushes_per_s},
                     {"idle_polls_per_s", fl.polls_per_s}, {"idle_telemetry_per_s", fl.telemetry_per_s},
                     {"errors_active", active_stats.errors.load()}, {"errors_idle", idle_stats.errors.load()}};
    std::printf("%s\n", j.dump().c_str());
  }
  std::fflush(stdout);
  // The server is about to be killed by the launcher; no need to close 10k
  // TLS sessions politely.
  std::_Exit(0);
}
