#include "server/http/server_config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace edgefed::server {
namespace {

std::string read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read --admin-token-file " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(0, 1);
  if (token.size() < 16) throw ConfigError("--admin-token-file " + path + " holds fewer than 16 characters");
  return token;
}

int64_t positive(const Options& o, const std::string& name, int64_t min = 1) {
  const int64_t v = o.get_int(name);
  if (v < min) throw ConfigError("--" + name + " must be >= " + std::to_string(min));
  return v;
}

double non_negative(const Options& o, const std::string& name) {
  const double v = o.get_double(name);
  if (v < 0) throw ConfigError("--" + name + " must be >= 0");
  return v;
}

http::StatusAnonymous parse_status_anonymous(const std::string& v) {
  if (v == "none") return http::StatusAnonymous::kNone;
  if (v == "summary") return http::StatusAnonymous::kSummary;
  if (v == "full") return http::StatusAnonymous::kFull;
  throw ConfigError("--status-anonymous must be none, summary or full, got '" + v + "'");
}

}  // namespace

void declare_server_options(Options& o) {
  const EngineOptions e;
  const http::HttpOptions h;
  auto num = [](auto v) {
    std::ostringstream s;
    s << v;
    return s.str();
  };
  o.add("listen", "0.0.0.0:8443", "HTTPS address HOST:PORT (port 0 = any free port; see --port-file)")
      .add("tls-cert", "", "server certificate chain, PEM")
      .add("tls-key", "", "server private key, PEM, mode 0600")
      .add("client-ca", "", "CA certificate that signs agent (and admin) client certificates, PEM")
      .add("crl", "", "optional CRL of revoked client certificates, PEM")
      .add("state-dir", "", "directory of the SQLite state (created if missing)")
      .add("mode", e.mode, "merging mode: sync (FedAvg rounds) or async (FedBuff)")
      .add("model-init", e.model_init, "initial model when the state is empty, e.g. mlp:784-128-10")
      .add("init-seed", num(e.init_seed), "seed of the initial weights")
      .add("admin-token-file", "", "file holding the admin bearer token (>= 16 chars); empty = admin certificates only")
      .add("status-anonymous", "none",
           "what GET / and /v1/status show without the viewer or admin role: none (401/403), summary (no agent "
           "named) or full (everything; a closed network only)")
      .add("metrics-listen", "", "optional plain-HTTP HOST:PORT serving /metrics, /healthz, /readyz")
      .add_bool("check-config", false, "validate the configuration (incl. certificate files), print it, exit 0/1")
      .add("port-file", "", "write the bound HTTPS port to this file once listening")
      .add("log-level", "info", "debug, info, warn or error")
      .add("threads", "0", "I/O threads running the event loop (0 = number of CPUs)")
      .add("workers", "0", "worker threads for decoding and SQLite calls (0 = 32 per CPU, at least 64)")
      // limits
      .add("max-connections", num(h.max_connections), "open connections beyond this are closed at accept")
      .add("header-limit", num(h.header_limit), "request line + header bytes (413 beyond)")
      .add("max-body", "0", "POST /v1/updates body limit in bytes; 0 = 2 x model size + 1 MiB")
      .add("max-update-bytes-in-flight", "0",
           "update body bytes received or processed at once, beyond: 503 + Retry-After; 0 = 8 x model size, "
           "at least 256 MiB")
      .add("admin-body-limit", num(h.admin_body_limit), "POST /v1/admin/model body limit in bytes")
      .add("json-body-limit", num(h.json_body_limit), "JSON body limit (telemetry, admin) in bytes")
      .add("handshake-timeout", num(h.handshake_timeout_s), "seconds for the TLS handshake")
      .add("idle-timeout", num(h.idle_timeout_s), "seconds a keep-alive connection may wait for its next request")
      .add("header-timeout", num(h.header_timeout_s), "total seconds to receive a request's headers")
      .add("body-timeout", num(h.body_timeout_s), "total seconds to receive a request body")
      .add("write-timeout", num(h.write_timeout_s), "total seconds to send a response")
      .add("max-long-poll", num(h.max_long_poll_s), "longest GET /v1/model?wait= in seconds")
      .add("rate-limit", num(h.rate_limit_rps), "requests per second per agent (token bucket; 0 = off)")
      .add("rate-limit-burst", num(h.rate_limit_burst), "token bucket size per agent")
      .add("shutdown-grace", num(h.shutdown_grace_s), "seconds SIGTERM waits for in-flight requests")
      // engine: sync
      .add("min-updates", num(e.min_updates), "sync: a round closes after this many updates")
      .add("round-timeout", num(e.round_timeout_s), "sync: seconds after which a round closes (0 = never)")
      .add("min-updates-on-timeout", num(e.min_updates_on_timeout), "sync: updates needed to close on timeout")
      .add("sync-stale-policy", e.sync_stale_policy, "sync: updates from older versions: weight or refuse")
      // engine: async
      .add("buffer-k", num(e.buffer_k), "async: a new version every K accepted updates")
      .add("buffer-timeout", num(e.buffer_timeout_s), "async: or when the oldest waited this many seconds (0 = never)")
      // engine: both
      .add("staleness-fn", e.staleness_fn, "staleness discount: constant, polynomial or hinge")
      .add("staleness-a", num(e.staleness_a), "polynomial exponent / hinge slope")
      .add("staleness-b", num(e.staleness_b), "hinge: staleness tolerated without discount")
      .add("max-staleness", num(e.max_staleness), "updates staler than this are refused (410)")
      .add("server-lr", num(e.server_lr), "server learning rate applied to the weighted mean delta")
      .add("task-epochs", num(e.task_epochs), "task: local epochs")
      .add("task-steps", num(e.task_steps), "task: local steps (0 = whole epochs)")
      .add("task-batch-size", num(e.task_batch_size), "task: batch size")
      .add("task-lr", num(e.task_lr), "task: local learning rate")
      .add("task-momentum", num(e.task_momentum), "task: momentum")
      .add("task-weight-decay", num(e.task_weight_decay), "task: weight decay")
      .add("task-proximal-mu", num(e.task_proximal_mu), "task: FedProx mu (0 = off)")
      .add("task-clip-norm", num(e.task_clip_norm), "task: gradient clip norm (0 = off)")
      .add("task-encoding", e.task_encoding, "task: update encoding f32, f16, int8 or topk")
      .add("task-deadline", num(e.task_deadline_s), "task: seconds to deliver the update (0 = none)")
      .add("keep-last-n", num(e.keep_last_n), "checkpoints: keep the newest N blobs")
      .add("keep-every-m", num(e.keep_every_m), "checkpoints: and every Mth version (0 = none)")
      .add("status-history", num(e.status_history), "versions listed in /v1/status")
      .add_bool("fsync-full", e.fsync_full, "SQLite synchronous=FULL (power-loss safe) instead of NORMAL")
      .add("group-commit-max", num(e.group_commit_max), "most updates/telemetry batches per transaction")
      .add("max-queued-updates", num(e.max_queued_updates), "updates waiting for the writer beyond this get 503")
      .add("telemetry-max-records", num(e.telemetry_max_records), "records per telemetry batch")
      .add("agent-active", num(e.agent_active_s), "seconds since last contact to count an agent active")
      .add("agent-offline", num(e.agent_offline_s), "seconds since last contact to count an agent offline")
      .add("timer-tick-ms", num(e.timer_tick_ms), "engine timer resolution in milliseconds");
}

ServerConfig read_server_options(const Options& o) {
  ServerConfig c;
  EngineOptions& e = c.engine;
  http::HttpOptions& h = c.http;
  std::tie(h.listen_host, h.listen_port) = parse_host_port(o.get("listen"));
  if (!o.get("metrics-listen").empty()) {
    h.metrics_listen = true;
    std::tie(h.metrics_host, h.metrics_port) = parse_host_port(o.get("metrics-listen"));
  }
  h.tls.cert_file = o.get("tls-cert");
  h.tls.key_file = o.get("tls-key");
  h.tls.client_ca_file = o.get("client-ca");
  h.tls.crl_file = o.get("crl");
  h.tls.client_certs = ClientCertMode::kOptional;
  if (!o.get("admin-token-file").empty()) h.admin_token = read_token(o.get("admin-token-file"));
  h.status_anonymous = parse_status_anonymous(o.get("status-anonymous"));
  c.port_file = o.get("port-file");
  h.io_threads = static_cast<int>(positive(o, "threads", 0));
  h.worker_threads = static_cast<int>(positive(o, "workers", 0));
  h.max_connections = positive(o, "max-connections");
  h.header_limit = static_cast<uint64_t>(positive(o, "header-limit", 1024));
  h.update_body_limit = static_cast<uint64_t>(positive(o, "max-body", 0));
  h.max_update_bytes_in_flight = static_cast<uint64_t>(positive(o, "max-update-bytes-in-flight", 0));
  h.admin_body_limit = static_cast<uint64_t>(positive(o, "admin-body-limit"));
  h.json_body_limit = static_cast<uint64_t>(positive(o, "json-body-limit"));
  h.handshake_timeout_s = non_negative(o, "handshake-timeout");
  h.idle_timeout_s = non_negative(o, "idle-timeout");
  h.header_timeout_s = non_negative(o, "header-timeout");
  h.body_timeout_s = non_negative(o, "body-timeout");
  h.write_timeout_s = non_negative(o, "write-timeout");
  h.max_long_poll_s = non_negative(o, "max-long-poll");
  h.rate_limit_rps = non_negative(o, "rate-limit");
  h.rate_limit_burst = non_negative(o, "rate-limit-burst");
  h.shutdown_grace_s = non_negative(o, "shutdown-grace");

  e.state_dir = o.get("state-dir");
  e.mode = o.get("mode");
  e.model_init = o.get("model-init");
  e.init_seed = static_cast<uint64_t>(positive(o, "init-seed", 0));
  e.min_updates = positive(o, "min-updates");
  e.round_timeout_s = non_negative(o, "round-timeout");
  e.min_updates_on_timeout = positive(o, "min-updates-on-timeout");
  e.sync_stale_policy = o.get("sync-stale-policy");
  e.buffer_k = positive(o, "buffer-k");
  e.buffer_timeout_s = non_negative(o, "buffer-timeout");
  e.staleness_fn = o.get("staleness-fn");
  e.staleness_a = non_negative(o, "staleness-a");
  e.staleness_b = non_negative(o, "staleness-b");
  e.max_staleness = positive(o, "max-staleness", 0);
  e.server_lr = non_negative(o, "server-lr");
  e.task_epochs = static_cast<int>(positive(o, "task-epochs", 0));
  e.task_steps = positive(o, "task-steps", 0);
  e.task_batch_size = static_cast<int>(positive(o, "task-batch-size"));
  e.task_lr = non_negative(o, "task-lr");
  e.task_momentum = non_negative(o, "task-momentum");
  e.task_weight_decay = non_negative(o, "task-weight-decay");
  e.task_proximal_mu = non_negative(o, "task-proximal-mu");
  e.task_clip_norm = non_negative(o, "task-clip-norm");
  e.task_encoding = o.get("task-encoding");
  e.task_deadline_s = non_negative(o, "task-deadline");
  e.keep_last_n = positive(o, "keep-last-n");
  e.keep_every_m = positive(o, "keep-every-m", 0);
  e.status_history = positive(o, "status-history", 0);
  e.fsync_full = o.get_bool("fsync-full");
  e.group_commit_max = positive(o, "group-commit-max");
  e.max_queued_updates = positive(o, "max-queued-updates");
  e.telemetry_max_records = static_cast<size_t>(positive(o, "telemetry-max-records"));
  e.agent_active_s = non_negative(o, "agent-active");
  e.agent_offline_s = non_negative(o, "agent-offline");
  e.timer_tick_ms = static_cast<int>(positive(o, "timer-tick-ms"));
  return c;
}

}  // namespace edgefed::server
