// edgefed-bench-ingest: opens C TLS 1.3 connections with client certificates
// to a running edgefed-server and pushes valid f32 updates for its current
// model as fast as they are acknowledged, for S seconds. Prints updates/s,
// MB/s of update bytes, p50/p99 latency, errors and (with --server-pid) the
// server's CPU seconds per update; --json adds one JSON object as the last
// line. --sink --size N posts opaque N-byte bodies to --url instead and
// counts any 2xx (the nginx reference). --url may list several servers
// (comma-separated, e.g. replicas on one database): connection i goes to
// the (i mod n)-th.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "edgefed/https_client.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/options.hpp"
#include "edgefed/update_codec.hpp"

extern char** environ;
using namespace edgefed;

namespace {

struct Target {
  std::string host;
  uint16_t port = 443;
  std::string path = "/";
};

Target parse_url(const std::string& url) {
  const std::string prefix = "https://";
  if (url.rfind(prefix, 0) != 0) throw ConfigError("--url must start with https://");
  std::string rest = url.substr(prefix.size());
  Target t;
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    t.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  std::tie(t.host, t.port) = parse_host_port(rest.find(':') == std::string::npos ? rest + ":443" : rest);
  return t;
}

// utime + stime of a process in seconds (0 if unreadable).
double cpu_seconds(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(f);
    if (i == 15) break;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Shared {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int64_t> ok{0}, errors{0}, bytes{0};
  std::atomic<bool> stop{false};
  std::string first_error;
  void error(const std::string& what) {
    ++errors;
    std::lock_guard lock(mu);
    if (first_error.empty()) first_error = what;
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options o("edgefed-bench-ingest", "Pushes updates (or opaque bodies with --sink) over TLS 1.3 as fast as acknowledged.");
  std::string url = "https://127.0.0.1:8443", ca, cert, key, pki;
  int connections = 50;
  double seconds = 10;
  int64_t server_pid = 0;
  bool sink = false, json = false;
  uint64_t size = 409600;
  o.bind("url", &url, "server URL (path used by --sink); several, comma-separated: connection i uses the (i mod n)-th");
  o.bind("ca", &ca, "CA certificate of the server");
  o.bind("cert", &cert, "client certificate (one agent for all connections)");
  o.bind("key", &key, "its key");
  o.bind("pki", &pki, "edgefed-certs directory: connection i uses agents/agent-<i>.pem (overrides --cert/--key)");
  o.bind("connections", &connections, "concurrent TLS connections").at_least(1);
  o.bind("seconds", &seconds, "duration").above(0);
  o.bind("server-pid", &server_pid, "pid of the server, to report its CPU seconds per update");
  o.bind("sink", &sink, "post opaque --size byte bodies to --url, counting any 2xx");
  o.bind("size", &size, "--sink body size in bytes");
  o.bind("json", &json, "print one JSON object on the last line");
  std::vector<Target> targets;
  try {
    o.parse(argc, argv, environ);
    if (o.help_requested()) {
      std::cout << o.help_text();
      return 0;
    }
    for (size_t from = 0; from <= url.size();) {
      const size_t comma = std::min(url.find(',', from), url.size());
      targets.push_back(parse_url(url.substr(from, comma - from)));
      from = comma + 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "edgefed-bench-ingest: " << e.what() << "\n";
    return 2;
  }
  auto client_options = [&](int i) {
    const Target& target = targets[static_cast<size_t>(i) % targets.size()];
    HttpsClientOptions c;
    c.host = target.host;
    c.port = target.port;
    c.tls.ca_file = ca;
    c.tls.cert_file = cert;
    c.tls.key_file = key;
    if (!pki.empty()) {
      char id[32];
      std::snprintf(id, sizeof id, "agent-%03d", i);
      c.tls.cert_file = pki + "/agents/" + id + ".pem";
      c.tls.key_file = pki + "/agents/" + id + ".key";
    }
    return c;
  };

  // The current model gives the layout and the base version.
  ModelLayout layout;
  int64_t base_version = 0;
  if (!sink) {
    auto c = HttpsClient::create(client_options(0));
    if (!c) return std::cerr << "edgefed-bench-ingest: " << c.status().to_string() << "\n", 1;
    auto r = (*c)->get("/v1/model");
    if (!r || r->status != 200)
      return std::cerr << "edgefed-bench-ingest: cannot GET /v1/model: "
                       << (r ? std::to_string(r->status) + " " + r->body : r.status().to_string()) << "\n", 1;
    auto m = decode_model({reinterpret_cast<const uint8_t*>(r->body.data()), r->body.size()});
    if (!m) return std::cerr << "edgefed-bench-ingest: " << m.status().to_string() << "\n", 1;
    layout = m->model.layout;
    base_version = m->version;
  }
  const std::string sink_body(sink ? size : 0, 'x');
  const double cpu0 = server_pid > 0 ? cpu_seconds(server_pid) : 0;

  Shared shared;
  const auto run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] {
      auto opts = client_options(i);
      auto c = HttpsClient::create(opts);
      if (!c) return shared.error(c.status().to_string());
      auto& client = *c;
      std::vector<float> delta(static_cast<size_t>(layout.size()), 1e-6f);
      UpdateMetadata meta;
      meta.agent_id = opts.tls.cert_file.empty() ? "" : opts.tls.cert_file.substr(opts.tls.cert_file.rfind('/') + 1);
      meta.agent_id = meta.agent_id.substr(0, meta.agent_id.rfind('.'));
      meta.num_samples = 32;
      meta.train_loss = 0.5;
      meta.layout_fingerprint = layout.fingerprint();
      int64_t version = base_version;
      std::vector<double> lat;
      for (int64_t n = 0; !shared.stop.load(); ++n) {
        std::string body;
        if (sink) {
          body = sink_body;
        } else {
          meta.update_id = "b" + run_id + "-" + std::to_string(i) + "-" + std::to_string(n);
          meta.base_version = version;
          auto enc = encode_update(layout, delta, meta);
          if (!enc) return shared.error(enc.status().to_string());
          body = std::move(enc).value();
        }
        const auto t0 = std::chrono::steady_clock::now();
        auto r = client->post(sink ? targets[static_cast<size_t>(i) % targets.size()].path : "/v1/updates", body);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (!r) {
          shared.error(r.status().to_string());
          continue;
        }
        if (r->status / 100 != 2) {
          shared.error(std::to_string(r->status) + " " + r->body.substr(0, 200));
          continue;
        }
        if (!sink) {
          auto ack = nlohmann::json::parse(r->body, nullptr, false);
          if (ack.is_object() && ack.contains("version")) version = ack["version"].get<int64_t>();
        }
        ++shared.ok;
        shared.bytes += static_cast<int64_t>(body.size());
        lat.push_back(ms);
      }
      std::lock_guard lock(shared.mu);
      shared.latencies_ms.insert(shared.latencies_ms.end(), lat.begin(), lat.end());
    });
  }
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  shared.stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = server_pid > 0 ? cpu_seconds(server_pid) - cpu0 : 0;

  auto& lat = shared.latencies_ms;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))]; };
  const double ups = shared.ok / elapsed;
  const double mbps = shared.bytes / elapsed / 1e6;
  const double body_kb = shared.ok ? shared.bytes / 1000.0 / shared.ok : 0;
  std::printf("%s: %d connections, %.1f s, %.0f KB bodies\n", sink ? "sink" : "updates", connections, elapsed, body_kb);
  std::printf("  %.1f %s/s, %.1f MB/s, p50 %.1f ms, p99 %.1f ms, errors %lld\n", ups, sink ? "requests" : "updates",
              mbps, pct(0.50), pct(0.99), static_cast<long long>(shared.errors.load()));
  if (server_pid > 0 && shared.ok > 0) std::printf("  server CPU %.2f ms per update\n", cpu * 1000 / shared.ok);
  if (!shared.first_error.empty()) std::printf("  first error: %s\n", shared.first_error.c_str());
  if (json) {
    nlohmann::json j{{"mode", sink ? "sink" : "updates"}, {"connections", connections}, {"seconds", elapsed},
                     {"body_bytes", body_kb * 1000}, {"updates_per_s", ups}, {"mb_per_s", mbps},
                     {"p50_ms", pct(0.50)}, {"p99_ms", pct(0.99)}, {"errors", shared.errors.load()},
                     {"ok", shared.ok.load()}};
    if (server_pid > 0 && shared.ok > 0) j["server_cpu_ms_per_update"] = cpu * 1000 / shared.ok;
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}
