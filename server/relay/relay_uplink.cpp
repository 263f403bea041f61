#include "server/relay/relay_uplink.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

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

namespace {

// What one POST of a batch came to.
struct SendOutcome {
  enum class Kind { kAnswered, kRefused, kFailed };
  Kind kind = Kind::kFailed;
  Engine::RelayBatchAnswer answer;
  std::string error;
};

}  // namespace

void RelayUplink::forward_batches() {
  // Several connections: one central round trip per batch, in sequence,
  // let the partial sums age by seconds under load (their staleness grew
  // from 6 to ~40 versions in a 100-agent run).
  constexpr size_t kConnections = 4;
  double backoff = 0.5;
  bool up = true;
  std::vector<std::unique_ptr<HttpsClient>> clients(kConnections);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    auto formed = engine_.form_relay_batches(false);
    if (!formed.is_ok()) log::warn("relay_batches_failed").kv("error", formed.status().to_string());
    auto batches = engine_.unsent_relay_batches(64);
    if (pending_ && batches.is_ok()) pending_->Set(static_cast<double>(batches->size()));
    std::vector<Engine::RelayBatchToSend> todo = batches.is_ok() ? std::move(batches).value()
                                                                 : std::vector<Engine::RelayBatchToSend>{};
    std::vector<SendOutcome> outcomes(todo.size());
    std::atomic<bool> link_failed{false};
    auto worker = [&](size_t w) {
      for (size_t i = w; i < todo.size(); i += kConnections) {
        if (link_failed.load()) return;
        const auto& b = todo[i];
        if (!clients[w]) {
          auto c = HttpsClient::create(client_options_);
          if (!c.is_ok()) {
            outcomes[i].error = c.status().to_string();
            link_failed = true;
            return;
          }
          clients[w] = std::move(c).value();
        }
        auto r = clients[w]->post("/v1/updates", b.body);
        if (r.is_ok() && r->status == 202) {
          auto ack = nlohmann::json::parse(r->body, nullptr, false);
          const bool duplicate = ack.is_object() && ack.value("duplicate", false);
          std::optional<int64_t> version;
          if (ack.is_object() && ack.contains("version") && ack["version"].is_number_integer())
            version = ack["version"].get<int64_t>();
          outcomes[i].kind = SendOutcome::Kind::kAnswered;
          outcomes[i].answer.id = b.id;
          outcomes[i].answer.upstream_version = version;
          outcomes[i].answer.result = duplicate ? "duplicate" : "accepted";
        } else if (r.is_ok() && permanent(r->status)) {
          outcomes[i].kind = SendOutcome::Kind::kRefused;
          outcomes[i].answer.id = b.id;
          outcomes[i].answer.result = "refused: " + std::to_string(r->status) + " " + r->body.substr(0, 300);
        } else {
          outcomes[i].error = r.is_ok() ? std::to_string(r->status) + " " + r->body.substr(0, 200) : r.status().to_string();
          clients[w].reset();
          link_failed = true;
          return;
        }
      }
    };
    {
      std::vector<std::thread> workers;
      for (size_t w = 1; w < std::min(kConnections, todo.size()); ++w) workers.emplace_back(worker, w);
      if (!todo.empty()) worker(0);
      for (auto& t : workers) t.join();
    }
    // The answers are recorded together: one transaction (and one fsync)
    // for up to 64 batches. Unrecorded ones are sent again next round and
    // answered as duplicates.
    std::vector<Engine::RelayBatchAnswer> answers;
    std::string first_error;
    for (size_t i = 0; i < todo.size(); ++i) {
      const auto& o = outcomes[i];
      const auto& b = todo[i];
      if (o.kind == SendOutcome::Kind::kAnswered) {
        const bool duplicate = o.answer.result == "duplicate";
        if (batches_) batches_->Add({{"result", duplicate ? "duplicate" : "accepted"}}).Increment();
        log::info("relay_batch_sent").kv("batch", b.update_id).kv("updates", b.updates).kv("samples", b.samples)
            .kv("base_version", b.base_version).kv("upstream_version", o.answer.upstream_version.value_or(-1))
            .kv("duplicate", duplicate);
        answers.push_back(o.answer);
      } else if (o.kind == SendOutcome::Kind::kRefused) {
        // The central server will not take it (too stale, another layout,
        // the relay quarantined): say so; the others go on.
        log::error("relay_batch_refused").kv("batch", b.update_id).kv("updates", b.updates)
            .kv("reason", o.answer.result);
        if (batches_) batches_->Add({{"result", "refused"}}).Increment();
        answers.push_back(o.answer);
      } else if (first_error.empty() && !o.error.empty()) {
        first_error = o.error;
      }
    }
    if (Status st = engine_.mark_relay_batches(answers); !st.is_ok())
      log::warn("relay_batch_mark_failed").kv("batches", answers.size()).kv("error", st.to_string());
    const bool failed = link_failed.load();
    if (failed && up) log::warn("uplink_down").kv("upstream", options_.upstream).kv("error", first_error);
    if (!failed && !up) log::info("uplink_up").kv("upstream", options_.upstream);
    up = !failed;
    if (uplink_up_) uplink_up_->Set(up ? 1 : 0);
    const double wait = failed ? backoff : (todo.size() >= 64 ? 0.0 : 0.2);
    backoff = failed ? std::min(backoff * 2, 30.0) : 0.5;
    if (!pause(wait)) return;
  }
}

}  // namespace edgefed::server
