#include "server/server_options.hpp"

#include "edgefed/tls.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
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

}  // namespace

Options make_server_options(ServerConfig& c) {
  EngineOptions& e = c.engine;
  http::HttpOptions& h = c.http;
  Options o("edgefed-server",
            "The edgefed aggregator: serves the global model over HTTPS (TLS 1.3, mTLS), accepts "
            "model updates and merges them (sync FedAvg rounds or async FedBuff).");
  o.bind_text("listen", h.listen_host + ":" + std::to_string(h.listen_port),
              "HTTPS address HOST:PORT (port 0 = any free port; see --port-file)",
              [&h](const std::string& v) { std::tie(h.listen_host, h.listen_port) = parse_host_port(v); });
  o.bind("tls-cert", &h.tls.cert_file, "server certificate chain, PEM");
  o.bind("tls-key", &h.tls.key_file, "server private key, PEM, mode 0600");
  o.bind("client-ca", &h.tls.client_ca_file, "CA certificate that signs agent (and admin) client certificates, PEM");
  o.bind("crl", &h.tls.crl_file, "optional CRL of revoked client certificates, PEM");
  o.bind("state-dir", &e.state_dir, "directory of the SQLite state (created if missing)");
  o.bind("store", &e.store,
         "where the state lives: sqlite (the file in --state-dir) or postgresql://USER@HOST:PORT/DB "
         "(no password in it)");
  o.bind("store-password-file", &e.store_password_file,
         "PostgreSQL password, first line of this file (else PGPASSWORD or ~/.pgpass)");
  o.bind("store-connect-timeout", &e.store_connect_s, "seconds start-up retries an unreachable PostgreSQL")
      .at_least(0);
  o.bind("replica-name", &e.replica_name,
         "this replica's name among the servers sharing a PostgreSQL store (empty = the host name)");
  o.bind("replica-poll", &e.replica_poll_s,
         "seconds between a replica's leadership checks, heartbeats and looks for a newer version")
      .at_least(0.01);
  // site relay
  o.bind("upstream", &c.relay.upstream,
         "run as a site relay of this central server, https://HOST:PORT: forward partial sums of the site's "
         "updates, serve the central model (empty = a central server)");
  o.bind("upstream-ca", &c.relay.ca_file, "relay: CA certificate that signs the central server's certificate, PEM");
  o.bind("upstream-cert", &c.relay.cert_file,
         "relay: its client certificate towards the central server (an agent certificate; its CN is the relay's "
         "agent id there), PEM");
  o.bind("upstream-key", &c.relay.key_file, "relay: the key of --upstream-cert, PEM, mode 0600");
  o.bind("relay-k", &e.relay_k, "relay: agent updates summed into one upstream update (at most)").at_least(1);
  o.bind("relay-flush", &e.relay_flush_s, "relay: seconds an update waits at most before its partial sum is sent")
      .above(0);
  o.bind("relay-adopt", &c.relay.adoption,
         "relay: when its agents get a newer central version: paced (once --relay-k updates came in since the "
         "last one, or --relay-flush passed) or every (at once)");
  o.bind("mode", &e.mode, "merging mode: sync = FedAvg rounds, async = FedBuff");
  o.bind("model-init", &e.model_init,
         "initial model when the state is empty: a preset (mlp:784-128-10, cnn-fmnist, forecast-cnn1d[:W], "
         "autoencoder[:N]) or a model spec FILE.json");
  o.bind("init-seed", &e.init_seed, "seed of the initial weights");
  o.bind("admin-token-file", &c.admin_token_file,
         "file holding the admin bearer token (>= 16 chars); empty = admin certificates only");
  o.bind("status-anonymous", &h.status_anonymous,
         "what GET / and /v1/status show without the viewer or admin role: none (401/403), summary (no agent "
         "named) or full (everything; a closed network only)");
  o.bind_text("metrics-listen", "", "optional plain-HTTP HOST:PORT serving /metrics, /healthz, /readyz",
              [&h](const std::string& v) {
                h.metrics_listen = !v.empty();
                if (h.metrics_listen) std::tie(h.metrics_host, h.metrics_port) = parse_host_port(v);
              });
  o.bind("check-config", &c.check_config, "validate the configuration (incl. certificate files), print it, exit 0/1");
  o.bind("port-file", &c.port_file, "write the bound HTTPS port to this file once listening");
  o.bind("log-level", &c.log_level, "log verbosity");
  o.bind("threads", &h.io_threads, "I/O threads running the event loop (0 = number of CPUs)").at_least(0);
  o.bind("workers", &h.worker_threads, "worker threads for decoding and SQLite calls (0 = 32 per CPU, at least 64)")
      .at_least(0);
  // limits
  o.bind("max-connections", &h.max_connections, "open connections beyond this are closed at accept").at_least(1);
  o.bind("header-limit", &h.header_limit, "request line + header bytes (413 beyond)").at_least(1024);
  o.bind("max-body", &h.update_body_limit, "POST /v1/updates body limit in bytes; 0 = 2 x model size + 1 MiB");
  o.bind("max-update-bytes-in-flight", &h.max_update_bytes_in_flight,
         "update body bytes received or processed at once, beyond: 503 + Retry-After; 0 = 8 x model size, "
         "at least 256 MiB");
  o.bind("admin-body-limit", &h.admin_body_limit, "POST /v1/admin/model body limit in bytes").at_least(1);
  o.bind("json-body-limit", &h.json_body_limit, "JSON body limit (telemetry, admin) in bytes").at_least(1);
  o.bind("handshake-timeout", &h.handshake_timeout_s, "seconds for the TLS handshake").at_least(0);
  o.bind("idle-timeout", &h.idle_timeout_s, "seconds a keep-alive connection may wait for its next request")
      .at_least(0);
  o.bind("header-timeout", &h.header_timeout_s, "total seconds to receive a request's headers").at_least(0);
  o.bind("body-timeout", &h.body_timeout_s, "total seconds to receive a request body").at_least(0);
  o.bind("write-timeout", &h.write_timeout_s, "total seconds to send a response").at_least(0);
  o.bind("max-long-poll", &h.max_long_poll_s, "longest GET /v1/model?wait= in seconds").at_least(0);
  o.bind("rate-limit", &h.rate_limit_rps, "requests per second per agent (token bucket; 0 = off)").at_least(0);
  o.bind("rate-limit-burst", &h.rate_limit_burst, "token bucket size per agent").at_least(0);
  o.bind("shutdown-grace", &h.shutdown_grace_s, "seconds SIGTERM waits for in-flight requests").at_least(0);
  // engine: sync
  o.bind("min-updates", &e.min_updates, "sync: a round closes after this many updates").at_least(1);
  o.bind("round-timeout", &e.round_timeout_s, "sync: seconds after which a round closes (0 = never)").at_least(0);
  o.bind("min-updates-on-timeout", &e.min_updates_on_timeout, "sync: updates needed to close on timeout")
      .at_least(1);
  o.bind("sync-stale-policy", &e.sync_stale_policy,
         "sync: updates from older versions: weight = merge them staleness-weighted, refuse = 410");
  // engine: async
  o.bind("buffer-k", &e.buffer_k, "async: a new version every K accepted updates").at_least(1);
  o.bind("buffer-timeout", &e.buffer_timeout_s, "async: or when the oldest waited this many seconds (0 = never)")
      .at_least(0);
  // engine: both
  o.bind("staleness-fn", &e.staleness_fn, "staleness discount s(tau) (docs/engine.md)");
  o.bind("staleness-a", &e.staleness_a, "polynomial exponent / hinge slope").at_least(0);
  o.bind("staleness-b", &e.staleness_b, "hinge: staleness tolerated without discount").at_least(0);
  o.bind("max-staleness", &e.max_staleness, "updates staler than this are refused (410)").at_least(0);
  o.bind("server-lr", &e.server_lr, "server learning rate applied to the weighted mean delta").at_least(0);
  o.bind("task-epochs", &e.task_epochs, "task: local epochs").at_least(0);
  o.bind("task-steps", &e.task_steps, "task: local steps (0 = whole epochs)").at_least(0);
  o.bind("task-batch-size", &e.task_batch_size, "task: batch size").at_least(1);
  o.bind("task-lr", &e.task_lr, "task: local learning rate").at_least(0);
  o.bind("task-momentum", &e.task_momentum, "task: momentum").at_least(0);
  o.bind("task-weight-decay", &e.task_weight_decay, "task: weight decay").at_least(0);
  o.bind("task-proximal-mu", &e.task_proximal_mu, "task: FedProx mu (0 = off)").at_least(0);
  o.bind("task-clip-norm", &e.task_clip_norm, "task: gradient clip norm (0 = off)").at_least(0);
  o.bind("task-encoding", &e.task_encoding, "task: update encoding");
  o.bind("task-deadline", &e.task_deadline_s, "task: seconds to deliver the update (0 = none)").at_least(0);
  o.bind("keep-last-n", &e.keep_last_n, "checkpoints: keep the newest N blobs").at_least(1);
  o.bind("keep-every-m", &e.keep_every_m, "checkpoints: and every Mth version (0 = none)").at_least(0);
  o.bind("status-history", &e.status_history, "versions listed in /v1/status").at_least(0);
  o.bind("secure-aggregation", &e.secure_aggregation,
         "secagg+: SecAgg+ sessions per round/cohort, the server learns only sums (docs/secure-aggregation.md)");
  o.bind("secagg-clip", &e.secagg_clip, "secure aggregation: bound C of a weighted update coordinate").at_least(0);
  o.bind("secagg-min-agents", &e.secagg_min_agents, "secure aggregation: fewest agents a session completes with")
      .at_least(3);
  o.bind("secagg-degree", &e.secagg_degree, "secure aggregation: neighbours per agent (0 = from the cohort size)");
  o.bind("secagg-phase-timeout", &e.secagg_phase_timeout_s, "secure aggregation: seconds a protocol phase waits")
      .at_least(0);
  o.bind("secagg-quorum", &e.secagg_quorum,
         "secure aggregation: share of a phase's agents after which the rest get only as long again (1 = all)")
      .at_least(0)
      .at_most(1);
  o.bind("fsync-full", &e.fsync_full, "SQLite synchronous=FULL (power-loss safe) instead of NORMAL");
  o.bind("fsync-pipeline", &e.fsync_pipeline,
         "with --fsync-full: fsync each batch on a second thread while the next one runs (acks still wait for it); "
         "a failed fsync then stops all writes until restart");
  o.bind("spool-mb", &e.spool_mb,
         "SQLite store: MiB of the update spool, a ring file the connections write pending update bodies to in "
         "parallel (fsynced with each commit); 0 = bodies in the database")
      .in(0, 1 << 20);
  o.bind("group-commit-max", &e.group_commit_max, "most updates/telemetry batches per transaction").at_least(1);
  o.bind("max-queued-updates", &e.max_queued_updates, "updates waiting for the writer beyond this get 503")
      .at_least(1);
  o.bind("telemetry-max-records", &e.telemetry_max_records, "records per telemetry batch").at_least(1);
  o.bind("agent-active", &e.agent_active_s, "seconds since last contact to count an agent active").at_least(0);
  o.bind("agent-offline", &e.agent_offline_s, "seconds since last contact to count an agent offline").at_least(0);
  o.bind("timer-tick-ms", &e.timer_tick_ms, "engine timer resolution in milliseconds").at_least(1);
  // serving channels (server/engine/serving_channels.hpp)
  o.bind("canary-fraction", &e.channels.canary_fraction,
         "share of agents that serve a new version first (canary cohort); 0 = no channels, agents serve what "
         "passes their own validation")
      .in(0, 1);
  o.bind("canary-min-agents", &e.channels.canary_min_agents,
         "cohort validations that decide a canary (also the smallest cohort)")
      .at_least(1);
  o.bind("serve-threshold", &e.channels.threshold,
         "reject a canary whose fleet validation is worse than the served models' by more than this: accuracy "
         "points as a fraction (0.02), or the relative rise of a loss")
      .in(0, 1);
  // Seconds on the command line, milliseconds in the options; `positive`:
  // 0 refused too.
  auto seconds_ms = [](int64_t* field, const char* flag, bool positive) {
    return [field, flag, positive](const std::string& v) {
      char* end = nullptr;
      const double s = std::strtod(v.c_str(), &end);
      if (!end || *end || !(positive ? s > 0 : s >= 0) || s > 1e7)
        throw ConfigError(std::string("--") + flag + " must be seconds " + (positive ? "> 0" : ">= 0"));
      *field = static_cast<int64_t>(s * 1000);
    };
  };
  o.bind_text("canary-soak", std::to_string(e.channels.canary_soak_ms / 1000),
              "seconds the cohort serves a canary before it may become stable (a rejection does not wait)",
              seconds_ms(&e.channels.canary_soak_ms, "canary-soak", false));
  o.bind_text("canary-timeout", std::to_string(e.channels.canary_timeout_ms / 1000),
              "seconds a canary waits for its cohort before a newer version takes its place",
              seconds_ms(&e.channels.canary_timeout_ms, "canary-timeout", true));
  // aggregation strategy and server optimizer (docs/aggregation.md); ranges
  // and combinations are checked by validate(EngineOptions)
  o.bind("aggregator", &e.aggregator,
         "merge strategy: fedavg streams; median, trimmed-mean and krum keep K x model size in memory");
  o.bind("trim-beta", &e.trim_beta, "trimmed-mean: fraction of values dropped per side and coordinate, [0, 0.5)");
  o.bind("krum-f", &e.krum_f, "krum: hostile updates assumed per version (needs K > 2f + 2)");
  o.bind("krum-m", &e.krum_m, "krum: updates averaged after selection (0 = K - f)");
  o.bind("aggregation-threads", &e.aggregation_threads, "threads of the median/trimmed-mean/krum kernels").in(1, 256);
  o.bind("clip-norm", &e.clip_norm, "clip each update to this L2 norm before merging (0 = off)");
  o.bind("dp-noise-multiplier", &e.dp_noise_multiplier,
         "client-level DP: Gaussian noise z x clip-norm on the sum of updates (0 = off; needs --clip-norm, fedavg)");
  o.bind("dp-seed", &e.dp_seed, "DP noise seed (0 = random; fixed seeds are for tests)");
  o.bind("server-optimizer", &e.server_optimizer, "step on the merged delta (Reddi et al. 2021)");
  o.bind("server-momentum", &e.server_momentum, "fedavgm: momentum");
  o.bind("server-beta1", &e.server_beta1, "fedadagrad/fedadam/fedyogi: first moment decay");
  o.bind("server-beta2", &e.server_beta2, "fedadam/fedyogi: second moment decay");
  o.bind("server-tau", &e.server_tau, "adaptive optimizers: adaptivity tau (step = lr m / (sqrt(v) + tau))");
  // observability
  ObservabilityConfig& ob = c.observability;
  o.bind("eval-data", &ob.eval.data_dir,
         "held-out data to evaluate each new version on: a directory with the Fashion-MNIST test split "
         "(t10k-*-ubyte.gz) or an agent data spec (idx:..., csv:..., series:...); empty = report the agents' "
         "sample-weighted train loss instead");
  o.bind("eval-samples", &ob.eval.max_samples, "evaluate on the first N held-out samples (0 = all)").at_least(0);
  o.bind("outlier-threshold", &ob.outliers.threshold, "robust z-score above which an update is an outlier")
      .above(0);
  o.bind("outlier-window", &ob.outliers.window, "recent fleet updates the outlier median/MAD use").at_least(8);
  o.bind("quarantine-after", &ob.outliers.quarantine_after,
         "quarantine an agent with N outlier updates among its last 2N (0 = never)")
      .at_least(0);
  o.bind("quarantine-max-share", &ob.outliers.quarantine_max_share,
         "most agents (share of those seen, at least 1) the outlier monitor holds in quarantine at once")
      .in(0, 1);
  o.bind("outlier-top-n", &ob.outliers.top_n, "agents exported in edgefed_agent_outlier_score (top by score)");
  o.bind("outlier-per-agent-metrics", &ob.outliers.per_agent_metrics,
         "export every agent's outlier score (one series per agent)");
  o.bind("status-on-metrics-port", &h.status_on_metrics_port,
         "also serve the status page and /v1/status on --metrics-listen");
  return o;
}

void finish_server_config(ServerConfig& c) {
  c.http.tls.client_certs = ClientCertMode::kOptional;
  if (!c.admin_token_file.empty()) c.http.admin_token = read_token(c.admin_token_file);
  // The plain listener has no credentials: what it shows is what anonymous
  // callers may see, so serving the status there needs that said explicitly.
  if (c.http.status_on_metrics_port && c.http.status_anonymous == http::StatusAnonymous::kNone)
    throw ConfigError("--status-on-metrics-port serves anonymous callers: set --status-anonymous to summary "
                      "(no agent named) or full");
  // A relay: the engine forms partial sums under the certificate's agent id.
  c.engine.relay = !c.relay.upstream.empty();
  c.relay.adopt_after_updates = c.engine.relay_k;
  c.relay.adopt_max_hold_s = c.engine.relay_flush_s;
  if (c.engine.relay) {
    if (auto client = upstream_client_options(c.relay); !client.is_ok()) throw ConfigError(client.status().message());
    check_key_permissions(c.relay.key_file);
    c.engine.relay_agent_id = certificate_file_common_name(c.relay.cert_file);
    if (c.engine.relay_agent_id.empty())
      throw ConfigError("--upstream-cert " + c.relay.cert_file + ": no certificate with one subject CN");
  }
}

}  // namespace edgefed::server
