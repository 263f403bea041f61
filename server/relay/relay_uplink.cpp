#include "server/relay/relay_uplink.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "edgefed/log.hpp"
#include "edgefed/options.hpp"

namespace edgefed::server {

namespace {

// A refusal the central server will repeat: the batch cannot be sent.
bool permanent(int http_status) {
  return http_status >= 400 && http_status < 500 && http_status != 408 && http_status != 429;
}

}  // namespace

Result<HttpsClientOptions> upstream_client_options(const RelayUplinkOptions& o) {
  const std::string prefix = "https://";
  if (o.upstream.rfind(prefix, 0) != 0)
    return Status(Code::kInvalidArgument, "--upstream must be https://HOST:PORT, got '" + o.upstream + "'");
  std::string rest = o.upstream.substr(prefix.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos)
    return Status(Code::kInvalidArgument, "--upstream must be https://HOST:PORT, got '" + o.upstream + "'");
  HttpsClientOptions c;
  try {
    std::tie(c.host, c.port) = parse_host_port(rest.find(':') == std::string::npos ? rest + ":443" : rest);
  } catch (const std::exception& e) {
    return Status(Code::kInvalidArgument, std::string("--upstream: ") + e.what());
  }
  if (o.ca_file.empty() || o.cert_file.empty() || o.key_file.empty())
    return Status(Code::kInvalidArgument, "a relay needs --upstream-ca, --upstream-cert and --upstream-key");
  c.tls.ca_file = o.ca_file;
  c.tls.cert_file = o.cert_file;
  c.tls.key_file = o.key_file;
  c.request_timeout = std::chrono::milliseconds(30000);
  c.user_agent = "edgefed-relay";
  return c;
}

Result<CentralModel> fetch_central_model(const RelayUplinkOptions& options, double give_up_s) {
  auto copts = upstream_client_options(options);
  if (!copts.is_ok()) return copts.status();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(give_up_s * 1000));
  double wait_s = 0.25;
  for (int attempt = 1;; ++attempt) {
    Status why = Status::ok();
    auto client = HttpsClient::create(*copts);
    if (!client.is_ok()) return client.status();  // bad PEM files: no retry helps
    auto r = (*client)->get("/v1/model");
    if (r.is_ok() && r->status == 200 && r->header("X-Model-Version")) {
      CentralModel m;
      m.version = std::stoll(*r->header("X-Model-Version"));
      m.bytes = std::move(r->body);
      return m;
    }
    why = r.is_ok() ? Status(Code::kUnavailable, "GET /v1/model answered " + std::to_string(r->status))
                    : r.status();
    if (r.is_ok() && permanent(r->status)) return Status(Code::kPermissionDenied, "the central server refused the relay: " + why.message());
    if (std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000)) > give_up)
      return Status(Code::kUnavailable, "the central server " + options.upstream + " cannot be reached: " + why.message());
    log::warn("upstream_unreachable").kv("attempt", attempt).kv("retry_in_s", wait_s).kv("error", why.to_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000)));
    wait_s = std::min(wait_s * 2, 4.0);
  }
}

RelayUplink::RelayUplink(RelayUplinkOptions options, Engine& engine, std::shared_ptr<prometheus::Registry> registry)
    : options_(std::move(options)), engine_(engine) {
  if (registry) {
    auto& r = *registry;
    batches_ = &prometheus::BuildCounter().Name("edgefed_relay_batches_total")
                    .Help("Partial sums this relay sent upstream, by the central server's answer (accepted, "
                          "duplicate, refused).")
                    .Register(r);
    for (const char* result : {"accepted", "duplicate", "refused"}) batches_->Add({{"result", result}});
    pending_ = &prometheus::BuildGauge().Name("edgefed_relay_pending_batches")
                    .Help("Partial sums formed but not yet acknowledged by the central server (a cut uplink "
                          "lets them grow).")
                    .Register(r).Add({});
    uplink_up_ = &prometheus::BuildGauge().Name("edgefed_relay_uplink_up")
                      .Help("1 while this relay's last exchange with the central server succeeded.")
                      .Register(r).Add({});
  }
}

RelayUplink::~RelayUplink() { stop(); }

Status RelayUplink::start() {
  auto c = upstream_client_options(options_);
  if (!c.is_ok()) return c.status();
  client_options_ = *c;
  follower_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "edgefed-relay-m");
    follow_models();
  });
  forwarder_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "edgefed-relay-f");
    forward_batches();
  });
  return Status::ok();
}

void RelayUplink::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (follower_.joinable()) follower_.join();
  if (forwarder_.joinable()) forwarder_.join();
}

bool RelayUplink::pause(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)), [&] { return stopping_; });
  return !stopping_;
}

void RelayUplink::follow_models() {
  double backoff = 0.5;
  std::unique_ptr<HttpsClient> client;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    if (!client) {
      auto c = HttpsClient::create(client_options_);
      if (!c.is_ok()) {
        log::error("upstream_client_failed").kv("error", c.status().to_string());
        if (!pause(backoff)) return;
        continue;
      }
      client = std::move(c).value();
    }
    // Short polls while stopping matter more than a few extra requests: the
    // wait is bounded so stop() never hangs on it for long.
    const int64_t have = engine_.current_model().version;
    const int wait = static_cast<int>(std::min(options_.long_poll_s, 5.0));
    auto r = client->get("/v1/model?after=" + std::to_string(have) + "&wait=" + std::to_string(wait), {},
                         std::chrono::milliseconds((wait + 10) * 1000));
    if (r.is_ok() && r->status == 200 && r->header("X-Model-Version")) {
      const int64_t version = std::stoll(*r->header("X-Model-Version"));
      Status st = engine_.adopt_upstream(
          version, {reinterpret_cast<const uint8_t*>(r->body.data()), r->body.size()});
      if (!st.is_ok()) {
        log::warn("upstream_model_not_adopted").kv("version", version).kv("error", st.to_string());
        if (!pause(backoff)) return;
      } else if (version > have) {
        log::info("upstream_model_adopted").kv("version", version);
      }
      backoff = 0.5;
      continue;
    }
    if (r.is_ok() && r->status == 304) {
      backoff = 0.5;
      continue;
    }
    client.reset();
    if (!pause(backoff)) return;
    backoff = std::min(backoff * 2, 30.0);
  }
}

void RelayUplink::forward_batches() {
  double backoff = 0.5;
  bool up = true;
  std::unique_ptr<HttpsClient> client;
  for (;;) {
    auto formed = engine_.form_relay_batches(false);
    if (!formed.is_ok()) log::warn("relay_batches_failed").kv("error", formed.status().to_string());
    auto batches = engine_.unsent_relay_batches(64);
    if (pending_ && batches.is_ok()) pending_->Set(static_cast<double>(batches->size()));
    bool failed = false;
    for (const Engine::RelayBatchToSend& b : batches.is_ok() ? *batches : std::vector<Engine::RelayBatchToSend>{}) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
      }
      if (!client) {
        auto c = HttpsClient::create(client_options_);
        if (!c.is_ok()) {
          failed = true;
          break;
        }
        client = std::move(c).value();
      }
      auto r = client->post("/v1/updates", b.body);
      if (r.is_ok() && r->status == 202) {
        auto ack = nlohmann::json::parse(r->body, nullptr, false);
        const bool duplicate = ack.is_object() && ack.value("duplicate", false);
        std::optional<int64_t> version;
        if (ack.is_object() && ack.contains("version") && ack["version"].is_number_integer())
          version = ack["version"].get<int64_t>();
        Status st = engine_.mark_relay_batch(b.id, version, duplicate ? "duplicate" : "accepted");
        if (!st.is_ok()) {
          log::warn("relay_batch_mark_failed").kv("batch", b.update_id).kv("error", st.to_string());
          failed = true;
          break;
        }
        if (batches_) batches_->Add({{"result", duplicate ? "duplicate" : "accepted"}}).Increment();
        log::info("relay_batch_sent").kv("batch", b.update_id).kv("updates", b.updates).kv("samples", b.samples)
            .kv("base_version", b.base_version).kv("upstream_version", version.value_or(-1))
            .kv("duplicate", duplicate);
        continue;
      }
      if (r.is_ok() && permanent(r->status)) {
        // The central server will not take it (too stale, another layout,
        // the relay quarantined): say so and go on with the others.
        const std::string why = std::to_string(r->status) + " " + r->body.substr(0, 300);
        log::error("relay_batch_refused").kv("batch", b.update_id).kv("updates", b.updates).kv("reason", why);
        (void)engine_.mark_relay_batch(b.id, std::nullopt, "refused: " + why);
        if (batches_) batches_->Add({{"result", "refused"}}).Increment();
        continue;
      }
      if (up) {
        log::warn("uplink_down").kv("upstream", options_.upstream)
            .kv("error", r.is_ok() ? std::to_string(r->status) + " " + r->body.substr(0, 200) : r.status().to_string());
      }
      client.reset();
      failed = true;
      break;
    }
    if (!failed && !up) log::info("uplink_up").kv("upstream", options_.upstream);
    up = !failed;
    if (uplink_up_) uplink_up_->Set(up ? 1 : 0);
    const double wait = failed ? backoff : 0.5;
    backoff = failed ? std::min(backoff * 2, 30.0) : 0.5;
    if (!pause(wait)) return;
  }
}

}  // namespace edgefed::server
