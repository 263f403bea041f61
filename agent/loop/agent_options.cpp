#include "agent/loop/agent_options.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <sys/utsname.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "edgefed/ml/data_spec.hpp"
#include "edgefed/tls.hpp"

namespace edgefed::agent {
namespace {

std::string env_value(const char* const* env, const std::string& key) {
  if (!env) return "";
  for (const char* const* e = env; *e; ++e)
    if (std::strncmp(*e, key.c_str(), key.size()) == 0 && (*e)[key.size()] == '=')
      return *e + key.size() + 1;
  return "";
}

}  // namespace

Options make_agent_options(AgentCommandLine& cl) {
  AgentConfig& c = cl.config;
  cl.outbox_max_mb = c.outbox_limits.max_bytes >> 20;
  Options o("edgefed-agent",
            "Federated-learning edge agent: pulls the global model from edgefed-server, trains on\n"
            "local data, pushes the update; keeps updates and telemetry in a SQLite outbox while\n"
            "the link is down and forwards them when it recovers.");
  o.bind("server", &c.link.server_url, "server URL, https://HOST:PORT (required)");
  o.bind("ca", &c.link.tls.ca_file, "CA certificate (PEM) that signed the server certificate (required)");
  o.bind("cert", &c.link.tls.cert_file, "this agent's client certificate (PEM); its CN is the agent id (required)");
  o.bind("key", &c.link.tls.key_file, "the client certificate's private key (PEM, mode 0600) (required)");
  o.bind("server-name", &c.link.server_name, "name the server certificate must carry (default: the URL's host)");
  o.bind("data", &c.data_spec,
         "local data: idx:DIR[:I/N][:iid|dirichlet:A|shards:K][:seed=S], csv:PATH[:label=COL], stream:PATH|- "
         "(required)");
  o.bind("state-dir", &c.state_dir, "directory for the outbox, the last model and the lock (required)");
  o.bind("agent-id", &c.agent_id, "agent id (default: the certificate CN, then $NODE_NAME)");
  o.bind("once", &cl.once, "train one round, forward everything, then exit (0: all acknowledged)");
  o.bind("check-config", &cl.check_config, "check the configuration and the files it names, then exit");
  o.bind("log-level", &cl.log_level, "log verbosity");
  o.bind("outbox-max-updates", &c.outbox_limits.max_updates, "updates kept while offline; the oldest are dropped beyond it")
      .at_least(1);
  o.bind("offline-updates-per-version", &c.offline_updates_per_version,
         "while offline, stop training once this many updates on the current model are queued (0 = keep training)")
      .at_least(0);
  o.bind("outbox-max-telemetry", &c.outbox_limits.max_telemetry, "telemetry records kept while offline (oldest dropped)")
      .at_least(1);
  o.bind("outbox-max-mb", &cl.outbox_max_mb, "outbox payload budget in MiB (telemetry dropped first, then old updates)")
      .at_least(1);
  o.bind("outbox-fsync", &c.outbox_full_sync, "fsync every outbox commit (survives power loss; false: process crashes only)");
  o.bind("backoff-initial-ms", &c.link.backoff.initial_ms, "first reconnect delay").at_least(1);
  o.bind("backoff-max-ms", &c.link.backoff.max_ms, "longest reconnect delay").at_least(1);
  o.bind("backoff-multiplier", &c.link.backoff.multiplier, "reconnect delay growth per failure");
  o.bind("backoff-jitter", &c.link.backoff.jitter, "random share of each reconnect delay, 0..1");
  o.bind("connect-timeout-ms", &c.link.connect_timeout, "TCP connect timeout").at_least(1);
  o.bind("handshake-timeout-ms", &c.link.handshake_timeout, "TLS handshake timeout").at_least(1);
  o.bind("request-timeout-ms", &c.link.request_timeout, "timeout for writing a request and reading its answer")
      .at_least(1);
  o.bind("telemetry-interval-ms", &c.telemetry_interval_ms,
         "interval of system telemetry records; telemetry is posted at least this often")
      .at_least(1);
  o.bind("telemetry-batch", &c.forward.telemetry_batch, "telemetry records per POST").in(1, 1000);
  o.bind("round-interval-ms", &c.min_round_interval_ms, "minimum time between training rounds").at_least(0);
  o.bind("idle-ms", &c.idle_ms, "wait between polls when there is nothing to train on").at_least(1);
  o.bind("secagg-poll-ms", &c.secagg_poll_ms,
         "secure aggregation: wait between polls of the session the agent takes part in")
      .at_least(1);
  o.bind("model-wait-s", &c.model_wait_s, "sync mode: long-poll seconds for the next model version").at_least(0);
  o.bind("accumulation-steps", &c.round.accumulation_steps, "micro-batches per optimizer step (bounds memory)")
      .at_least(1);
  o.bind("seed", &c.seed, "training data order seed (0: derived from the agent id)");
  o.bind("health-file", &c.health_file, "file touched every loop iteration, for liveness probes");
  o.bind("once-timeout-ms", &c.once_timeout_ms, "--once: give up after this long").at_least(1);
  o.bind("serve-threshold", &c.serve_threshold,
         "serve a new version unless it is worse on the local holdout by more than this: accuracy points "
         "as a fraction (0.02 = 2 points), or the relative rise of a regression/autoencoder loss")
      .in(0, 1);
  o.bind("predict-socket", &c.predict_socket,
         "Unix domain socket for local inference (POST /v1/predict); empty: none, no port is ever opened");
  o.bind("device-class", &c.device_class,
         "this device's class, sent with system telemetry; the server's canary cohort takes agents of every "
         "class (1-64 of [A-Za-z0-9_.-]; default: the CPU architecture, e.g. x86_64, aarch64)");
  o.bind("predict-max-batch", &c.predict_max_batch, "inputs per POST /v1/predict request").in(1, 100000);
  o.bind_text("attack", to_string(c.attack),
              "TEST ONLY: send hostile updates (for testing robust aggregation): none, sign-flip, "
              "scale:FACTOR, noise (Gaussian, stddev 10) or noise:STDDEV",
              [&c](const std::string& v) {
                auto attack = parse_attack(v);
                if (!attack) throw ConfigError("--" + attack.status().message());
                c.attack = *attack;
              })
      .test_only();
  return o;
}

std::string certificate_file_common_name(const std::string& cert_file) {
  std::FILE* f = std::fopen(cert_file.c_str(), "rb");
  if (!f) throw ConfigError("cannot read certificate " + cert_file + ": " + std::strerror(errno));
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!x) throw ConfigError("no PEM certificate in " + cert_file);
  std::string cn = certificate_common_name(x);
  X509_free(x);
  return cn;
}

void finish_agent_config(AgentCommandLine& cl, const char* const* env) {
  AgentConfig& c = cl.config;
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"server", &c.link.server_url},
                                    {"ca", &c.link.tls.ca_file},
                                    {"cert", &c.link.tls.cert_file},
                                    {"key", &c.link.tls.key_file},
                                    {"data", &c.data_spec},
                                    {"state-dir", &c.state_dir}})
    if (value->empty()) throw ConfigError(std::string("--") + name + " is required (see --help)");
  if (auto url = parse_server_url(c.link.server_url); !url)
    throw ConfigError("--server: " + url.status().message());
  if (Status st = validate(c.link.backoff); !st.is_ok()) throw ConfigError(st.message());

  if (c.agent_id.empty()) c.agent_id = certificate_file_common_name(c.link.tls.cert_file);
  if (c.agent_id.empty()) c.agent_id = env_value(env, "NODE_NAME");
  if (c.agent_id.empty())
    throw ConfigError("no agent id: give --agent-id, a certificate with a CN, or NODE_NAME");
  if (!valid_agent_id(c.agent_id))
    throw ConfigError("bad agent id '" + c.agent_id + "' (1-64 of [A-Za-z0-9._-], starting alphanumeric)");
  c.outbox_limits.max_bytes = cl.outbox_max_mb << 20;
  if (c.device_class.empty()) {
    struct utsname u {};
    if (uname(&u) == 0) c.device_class = u.machine;
  }
  if (!c.device_class.empty() && !valid_telemetry_key(c.device_class))
    throw ConfigError("--device-class: bad class '" + c.device_class +
                      "' (1-64 of [A-Za-z0-9_.-], starting alphanumeric)");
}

void check_agent_config(const AgentConfig& c) {
  (void)make_client_context(c.link.tls);  // throws ConfigError naming the file
  auto spec = ml::parse_data_spec(c.data_spec);
  if (!spec) throw ConfigError("--data: " + spec.status().message());
}

}  // namespace edgefed::agent
