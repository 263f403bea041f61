#include "server/relay/relay_uplink.hpp"

#include <pthread.h>

#include <algorithm>
#include <iterator>
#include <optional>
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

bool RelayUplink::hold_adopted_version(int64_t accepted_at_adoption,
                                       std::chrono::steady_clock::time_point adopted_at) {
  const auto hold_until = adopted_at + std::chrono::milliseconds(static_cast<int64_t>(options_.adopt_max_hold_s * 1000));
  while (engine_.accepted_updates() - accepted_at_adoption < options_.adopt_after_updates &&
         std::chrono::steady_clock::now() < hold_until) {
    if (!pause(0.02)) return false;
  }
  return true;
}

bool RelayUplink::fetch_task(HttpsClient& client) {
  // Bounded well below the model poll's timeout: a task that cannot be
  // fetched must not hold up the poll that notices a returning uplink.
  auto r = client.get("/v1/task", {}, std::chrono::milliseconds(10000));
  if (!r.is_ok() || r->status != 200) {
    log::warn("upstream_task_not_fetched")
        .kv("error", r.is_ok() ? "GET /v1/task answered " + std::to_string(r->status) : r.status().to_string());
    return false;
  }
  auto j = parse_json(r->body);
  auto task = j.is_ok() ? parse_task(*j) : Result<Task>(j.status());
  if (!task.is_ok()) {
    log::warn("upstream_task_not_fetched").kv("error", "the central task: " + task.status().to_string());
    return false;
  }
  if (engine_.set_upstream_task(*task)) {
    log::info("upstream_task_adopted").kv("mode", task->mode).kv("epochs", task->epochs).kv("steps", task->steps)
        .kv("batch_size", task->batch_size).kv("lr", task->lr).kv("encoding", task->encoding);
  }
  return true;
}

void RelayUplink::follow_models() {
  double backoff = 0.5;
  std::unique_ptr<HttpsClient> client;
  // Paced adoption (RelayAdoption): agents of a site that follow every
  // central version spread their updates over many base versions, and a
  // chunk of K updates of one base rarely fills before the flush.
  int64_t accepted_at_adoption = engine_.accepted_updates();
  auto adopted_at = std::chrono::steady_clock::now();
  bool have_task = false;
  std::chrono::steady_clock::time_point task_at{};
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
    // The central task first (before the relay's agents have trained much
    // on its own flags), then again every kTaskRefresh: an operator who
    // changes the central task reaches every site.
    if (!have_task || std::chrono::steady_clock::now() - task_at >= kTaskRefresh) {
      have_task = fetch_task(*client) || have_task;
      task_at = std::chrono::steady_clock::now();
    }
    if (options_.adoption == RelayAdoption::kPaced && !hold_adopted_version(accepted_at_adoption, adopted_at)) return;
    // Short polls while stopping matter more than a few extra requests: the
    // wait is bounded so stop() never hangs on it for long.
    const int64_t have = engine_.current_model().version;
    const int wait = static_cast<int>(std::min(options_.long_poll_s, 5.0));
    auto r = client->get("/v1/model?after=" + std::to_string(have) + "&wait=" + std::to_string(wait), {},
                         std::chrono::milliseconds((wait + 10) * 1000));
    if (r.is_ok() && (r->status == 200 || r->status == 304)) {
      std::lock_guard<std::mutex> lock(mu_);
      note_link_locked(true, "");
    }
    if (r.is_ok() && r->status == 200 && r->header("X-Model-Version")) {
      const int64_t version = std::stoll(*r->header("X-Model-Version"));
      Status st = engine_.adopt_upstream(
          version, {reinterpret_cast<const uint8_t*>(r->body.data()), r->body.size()});
      if (!st.is_ok()) {
        log::warn("upstream_model_not_adopted").kv("version", version).kv("error", st.to_string());
        if (!pause(backoff)) return;
      } else if (version > have) {
        log::info("upstream_model_adopted").kv("version", version)
            .kv("updates_on_previous", engine_.accepted_updates() - accepted_at_adoption);
        accepted_at_adoption = engine_.accepted_updates();
        adopted_at = std::chrono::steady_clock::now();
      }
      backoff = 0.5;
      continue;
    }
    if (r.is_ok() && r->status == 304) {
      backoff = 0.5;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      note_link_locked(false, r.is_ok() ? "GET /v1/model answered " + std::to_string(r->status) : r.status().to_string());
    }
    client.reset();
    if (!pause(backoff)) return;
    // At most 5 s: this poll is also what notices that a cut uplink is back
    // when no batch is waiting to be sent (a cut holds them unformed).
    backoff = std::min(backoff * 2, 5.0);
  }
}

namespace {

constexpr size_t kConnections = 4;

}  // namespace

// One POST per batch, each sender on its own connection, each answer
// recorded as soon as it comes: a batch formed while others are in flight
// leaves at once (rounds of "send all, then record all" let a new partial
// sum wait for the slowest POST of the round, and aged the sums by a third
// of a second in a 100-agent run).
void RelayUplink::forward_batches() {
  std::vector<std::thread> senders;
  for (size_t w = 0; w < kConnections; ++w) senders.emplace_back([this] {
    pthread_setname_np(pthread_self(), "edgefed-relay-s");
    send_batches();
  });
  int64_t seen_formed = -1;
  auto last_fetch = std::chrono::steady_clock::now() - std::chrono::hours(1);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // New batches, the queue drained, or a periodic look (batches left by
      // an earlier run, a retry after the backoff).
      cv_.wait_for(lock, std::chrono::milliseconds(10), [&] { return stopping_; });
      if (stopping_) break;
      const auto now = std::chrono::steady_clock::now();
      // Read before the fetch: every batch it counts is committed, so the
      // fetch below returns it; one formed later moves it again.
      const int64_t formed = engine_.relay_batches_formed();
      const bool idle = queue_.empty() && in_flight_.empty();
      if (now < retry_at_) continue;
      if (formed == seen_formed && !(idle && now - last_fetch > std::chrono::milliseconds(500))) continue;
      seen_formed = formed;
      ++fetch_no_;
    }
    last_fetch = std::chrono::steady_clock::now();
    auto batches = engine_.unsent_relay_batches(64);
    if (!batches.is_ok()) {
      log::warn("relay_batches_failed").kv("error", batches.status().to_string());
      continue;
    }
    if (pending_) pending_->Set(static_cast<double>(batches->size()));
    std::lock_guard<std::mutex> lock(mu_);
    // Answered while this fetch ran: recorded before it started, so a later
    // fetch no longer returns them.
    for (auto it = answered_.begin(); it != answered_.end();)
      it = it->second < fetch_no_ ? answered_.erase(it) : std::next(it);
    for (auto& b : *batches) {
      if (in_flight_.count(b.id) || answered_.count(b.id)) continue;
      in_flight_.insert(b.id);
      queue_.push_back(std::move(b));
    }
    cv_.notify_all();
  }
  cv_.notify_all();
  for (auto& t : senders) t.join();
}

void RelayUplink::send_batches() {
  std::unique_ptr<HttpsClient> client;
  for (;;) {
    Engine::RelayBatchToSend b;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || (!queue_.empty() && std::chrono::steady_clock::now() >= retry_at_); });
      if (stopping_) return;
      b = std::move(queue_.front());
      queue_.pop_front();
    }
    std::string error;
    std::optional<Engine::RelayBatchAnswer> answer;
    if (!client) {
      auto c = HttpsClient::create(client_options_);
      if (c.is_ok()) client = std::move(c).value();
      else error = c.status().to_string();
    }
    if (client) {
      auto r = client->post("/v1/updates", b.body);
      if (r.is_ok() && r->status == 202) {
        auto ack = nlohmann::json::parse(r->body, nullptr, false);
        const bool duplicate = ack.is_object() && ack.value("duplicate", false);
        Engine::RelayBatchAnswer a;
        a.id = b.id;
        if (ack.is_object() && ack.contains("version") && ack["version"].is_number_integer())
          a.upstream_version = ack["version"].get<int64_t>();
        a.result = duplicate ? "duplicate" : "accepted";
        if (batches_) batches_->Add({{"result", a.result}}).Increment();
        log::info("relay_batch_sent").kv("batch", b.update_id).kv("updates", b.updates).kv("samples", b.samples)
            .kv("base_version", b.base_version).kv("upstream_version", a.upstream_version.value_or(-1))
            .kv("duplicate", duplicate);
        answer = std::move(a);
      } else if (r.is_ok() && permanent(r->status)) {
        // The central server will not take it (too stale, another layout,
        // the relay quarantined): say so; the others go on.
        Engine::RelayBatchAnswer a;
        a.id = b.id;
        a.result = "refused: " + std::to_string(r->status) + " " + r->body.substr(0, 300);
        log::error("relay_batch_refused").kv("batch", b.update_id).kv("updates", b.updates).kv("reason", a.result);
        if (batches_) batches_->Add({{"result", "refused"}}).Increment();
        answer = std::move(a);
      } else {
        error = r.is_ok() ? std::to_string(r->status) + " " + r->body.substr(0, 200) : r.status().to_string();
        client.reset();
      }
    }
    // Recorded before the batch leaves in_flight_: an unrecorded answer is
    // sent again later and answered as a duplicate.
    if (answer) {
      if (Status st = engine_.mark_relay_batches({*answer}); !st.is_ok())
        log::warn("relay_batch_mark_failed").kv("batch", b.update_id).kv("error", st.to_string());
    }
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.erase(b.id);
    note_link_locked(answer.has_value(), error);
    if (answer) {
      answered_[b.id] = fetch_no_;
      backoff_s_ = 0.5;
    } else {
      // The link is down (or the central server fails): everything queued
      // waits for the backoff, then is fetched again from the store.
      for (const auto& q : queue_) in_flight_.erase(q.id);
      queue_.clear();
      const auto now = std::chrono::steady_clock::now();
      if (retry_at_ <= now) {
        retry_at_ = now + std::chrono::milliseconds(static_cast<int64_t>(backoff_s_ * 1000));
        backoff_s_ = std::min(backoff_s_ * 2, 30.0);
      }
    }
    cv_.notify_all();
  }
}

void RelayUplink::note_link_locked(bool ok, const std::string& error) {
  if (ok && !up_) log::info("uplink_up").kv("upstream", options_.upstream);
  if (!ok && up_) log::warn("uplink_down").kv("upstream", options_.upstream).kv("error", error);
  up_ = ok;
  engine_.set_relay_uplink_up(ok);
  if (uplink_up_) uplink_up_->Set(ok ? 1 : 0);
}

}  // namespace edgefed::server
