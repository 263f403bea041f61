#include "agent/loop/agent_options.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

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

int64_t positive(const Options& o, const std::string& name, int64_t min = 1) {
  const int64_t v = o.get_int(name);
  if (v < min) throw ConfigError("option --" + name + " must be >= " + std::to_string(min));
  return v;
}

}  // namespace

Options make_agent_options() {
  Options o("edgefed-agent",
            "Federated-learning edge agent: pulls the global model from edgefed-server, trains on\n"
            "local data, pushes the update; keeps updates and telemetry in a SQLite outbox while\n"
            "the link is down and forwards them when it recovers.");
  o.add("server", "", "server URL, https://HOST:PORT (required)")
      .add("ca", "", "CA certificate (PEM) that signed the server certificate (required)")
      .add("cert", "", "this agent's client certificate (PEM); its CN is the agent id (required)")
      .add("key", "", "the client certificate's private key (PEM, mode 0600) (required)")
      .add("server-name", "", "name the server certificate must carry (default: the URL's host)")
      .add("data", "", "local data: idx:DIR[:I/N][:iid|dirichlet:A|shards:K][:seed=S], csv:PATH[:label=COL], stream:PATH|- (required)")
      .add("state-dir", "", "directory for the outbox, the last model and the lock (required)")
      .add("agent-id", "", "agent id (default: the certificate CN, then $NODE_NAME)")
      .add_bool("once", false, "train one round, forward everything, then exit (0: all acknowledged)")
      .add_bool("check-config", false, "check the configuration and the files it names, then exit")
      .add("log-level", "info", "debug, info, warn or error")
      .add("outbox-max-updates", "32", "updates kept while offline; the oldest are dropped beyond it")
      .add("offline-updates-per-version", "0", "while offline, stop training once this many updates on the current model are queued (0 = keep training)")
      .add("outbox-max-telemetry", "20000", "telemetry records kept while offline (oldest dropped)")
      .add("outbox-max-mb", "64", "outbox payload budget in MiB (telemetry dropped first, then old updates)")
      .add_bool("outbox-fsync", true, "fsync every outbox commit (survives power loss; false: process crashes only)")
      .add("backoff-initial-ms", "500", "first reconnect delay")
      .add("backoff-max-ms", "30000", "longest reconnect delay")
      .add("backoff-multiplier", "2", "reconnect delay growth per failure")
      .add("backoff-jitter", "0.5", "random share of each reconnect delay, 0..1")
      .add("connect-timeout-ms", "5000", "TCP connect timeout")
      .add("handshake-timeout-ms", "5000", "TLS handshake timeout")
      .add("request-timeout-ms", "30000", "timeout for writing a request and reading its answer")
      .add("telemetry-interval-ms", "10000", "interval of system telemetry records; telemetry is posted at least this often")
      .add("telemetry-batch", "200", "telemetry records per POST")
      .add("round-interval-ms", "0", "minimum time between training rounds")
      .add("idle-ms", "1000", "wait between polls when there is nothing to train on")
      .add("model-wait-s", "5", "sync mode: long-poll seconds for the next model version")
      .add("accumulation-steps", "1", "micro-batches per optimizer step (bounds memory)")
      .add("seed", "0", "training data order seed (0: derived from the agent id)")
      .add("health-file", "", "file touched every loop iteration, for liveness probes")
      .add("once-timeout-ms", "120000", "--once: give up after this long")
      .add_test_only("attack", "none",
                     "TEST ONLY: send hostile updates (for testing robust aggregation): none, sign-flip, "
                     "scale:FACTOR, noise (Gaussian, stddev 10) or noise:STDDEV");
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

AgentConfig agent_config_from(const Options& o, const char* const* env) {
  for (const char* name : {"server", "ca", "cert", "key", "data", "state-dir"})
    if (o.get(name).empty()) throw ConfigError(std::string("--") + name + " is required (see --help)");
  AgentConfig c;
  c.link.server_url = o.get("server");
  if (auto url = parse_server_url(c.link.server_url); !url)
    throw ConfigError("--server: " + url.status().message());
  c.link.server_name = o.get("server-name");
  c.link.tls = {o.get("ca"), o.get("cert"), o.get("key")};
  c.link.connect_timeout = std::chrono::milliseconds(positive(o, "connect-timeout-ms"));
  c.link.handshake_timeout = std::chrono::milliseconds(positive(o, "handshake-timeout-ms"));
  c.link.request_timeout = std::chrono::milliseconds(positive(o, "request-timeout-ms"));
  c.link.backoff.initial_ms = positive(o, "backoff-initial-ms");
  c.link.backoff.max_ms = positive(o, "backoff-max-ms");
  c.link.backoff.multiplier = o.get_double("backoff-multiplier");
  c.link.backoff.jitter = o.get_double("backoff-jitter");
  if (Status st = validate(c.link.backoff); !st.is_ok()) throw ConfigError(st.message());

  c.agent_id = o.get("agent-id");
  if (c.agent_id.empty()) c.agent_id = certificate_file_common_name(c.link.tls.cert_file);
  if (c.agent_id.empty()) c.agent_id = env_value(env, "NODE_NAME");
  if (c.agent_id.empty())
    throw ConfigError("no agent id: give --agent-id, a certificate with a CN, or NODE_NAME");
  if (!valid_agent_id(c.agent_id))
    throw ConfigError("bad agent id '" + c.agent_id + "' (1-64 of [A-Za-z0-9._-], starting alphanumeric)");

  c.state_dir = o.get("state-dir");
  c.data_spec = o.get("data");
  c.outbox_limits.max_updates = positive(o, "outbox-max-updates");
  c.outbox_limits.max_telemetry = positive(o, "outbox-max-telemetry");
  c.outbox_limits.max_bytes = positive(o, "outbox-max-mb") << 20;
  c.outbox_full_sync = o.get_bool("outbox-fsync");
  c.forward.telemetry_batch = static_cast<size_t>(positive(o, "telemetry-batch"));
  if (c.forward.telemetry_batch > 1000) throw ConfigError("option --telemetry-batch must be <= 1000");
  c.telemetry_interval_ms = positive(o, "telemetry-interval-ms");
  c.min_round_interval_ms = positive(o, "round-interval-ms", 0);
  c.idle_ms = positive(o, "idle-ms");
  c.offline_updates_per_version = positive(o, "offline-updates-per-version", 0);
  c.model_wait_s = static_cast<int>(positive(o, "model-wait-s", 0));
  c.round.accumulation_steps = static_cast<int>(positive(o, "accumulation-steps"));
  c.seed = static_cast<uint64_t>(positive(o, "seed", 0));
  c.health_file = o.get("health-file");
  c.once_timeout_ms = positive(o, "once-timeout-ms");
  auto attack = parse_attack(o.get("attack"));
  if (!attack) throw ConfigError("--" + attack.status().message());
  c.attack = *attack;
  return c;
}

void check_agent_config(const AgentConfig& c) {
  (void)make_client_context(c.link.tls);  // throws ConfigError naming the file
  auto spec = ml::parse_data_spec(c.data_spec);
  if (!spec) throw ConfigError("--data: " + spec.status().message());
}

}  // namespace edgefed::agent
