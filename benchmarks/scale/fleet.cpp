#include "fleet.hpp"

#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"
#include "edgefed/update_codec.hpp"

namespace edgefed::bench {

namespace beast = boost::beast;
namespace net = boost::asio;

namespace {

constexpr std::chrono::seconds kTimeout{60};

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::shared_ptr<BenchConn::Request> make_request(http::verb verb, const std::string& target, std::string body,
                                                 const char* content_type) {
  auto req = std::make_shared<BenchConn::Request>(verb, target, 11);
  req->set(http::field::host, "127.0.0.1");
  req->keep_alive(true);
  if (verb == http::verb::post) {
    req->set(http::field::content_type, content_type);
    req->body() = std::move(body);
    req->prepare_payload();
  }
  return req;
}

void after(net::io_context& ioc, double seconds, std::function<void()> fn) {
  auto t = std::make_shared<net::steady_timer>(ioc);
  t->expires_after(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  t->async_wait([t, fn = std::move(fn)](beast::error_code ec) {
    if (!ec) fn();
  });
}

}  // namespace

void FleetStats::error(const std::string& what) {
  ++errors;
  if (first_error_set.exchange(1) == 0) {
    std::lock_guard lock(mu);
    first_error = what;
  }
}

IdleAgent::IdleAgent(net::io_context& ioc, net::ssl::context& ctx, const FleetConfig& cfg, FleetStats& stats,
                     Identity id, int64_t version)
    : ioc_(ioc), ctx_(ctx), cfg_(cfg), stats_(stats), id_(std::move(id)), version_(version),
      rng_(static_cast<unsigned>(std::hash<std::string>{}(id_.agent_id))) {}

void IdleAgent::start(bool counted) {
  if (!counted) ++stats_.connecting;
  conn_ = std::make_shared<BenchConn>(ioc_, ctx_);
  conn_->connect(cfg_.server, id_, kTimeout, [self = shared_from_this()](beast::error_code ec) {
    --self->stats_.connecting;
    if (ec) {
      ++self->stats_.connect_failures;
      return self->failed("connect: " + ec.message());
    }
    self->up_ = true;
    ++self->stats_.connected;
    self->poll();
  });
}

void IdleAgent::poll() {
  // Jitter the wait (0.75-1.25 W) so the fleet's polls spread over time.
  const double wait = cfg_.poll_wait_s * std::uniform_real_distribution<double>(0.75, 1.25)(rng_);
  char target[96];
  std::snprintf(target, sizeof target, "/v1/model?after=%lld&wait=%.1f", static_cast<long long>(version_), wait);
  conn_->exchange(make_request(http::verb::get, target, {}, ""), kTimeout + std::chrono::seconds(static_cast<int>(wait)),
                  [self = shared_from_this()](beast::error_code ec, const BenchConn::Response* r) {
                    if (ec) return self->failed("poll: " + ec.message());
                    if (r->result_int() == 200) {
                      ++self->stats_.polls_new_model;
                      const auto v = (*r)["X-Model-Version"];
                      if (!v.empty()) self->version_ = std::stoll(std::string(v));
                    } else if (r->result_int() != 304) {
                      return self->failed("poll: HTTP " + std::to_string(r->result_int()) + " " + r->body().substr(0, 200));
                    }
                    ++self->stats_.polls;
                    self->post_telemetry();
                  });
}

void IdleAgent::post_telemetry() {
  TelemetryBatch b;
  b.agent_id = id_.agent_id;
  TelemetryRecord rec;
  rec.seq = ++seq_;
  rec.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  rec.kind = "system";
  rec.values = {{"cpu_percent", 3.0}, {"rss_bytes", 1.9e7}};
  b.records.push_back(std::move(rec));
  conn_->exchange(make_request(http::verb::post, "/v1/telemetry", to_json(b).dump(), "application/json"), kTimeout,
                  [self = shared_from_this()](beast::error_code ec, const BenchConn::Response* r) {
                    if (ec) return self->failed("telemetry: " + ec.message());
                    if (r->result_int() != 200) {
                      return self->failed("telemetry: HTTP " + std::to_string(r->result_int()) + " " +
                                          r->body().substr(0, 200));
                    }
                    ++self->stats_.telemetry;
                    self->poll();
                  });
}

void IdleAgent::failed(const std::string& what) {
  stats_.error(id_.agent_id + " " + what);
  if (up_) --stats_.connected;
  up_ = false;
  conn_.reset();
  after(ioc_, 1.0, [self = shared_from_this()] { self->start(); });
}

ActiveAgent::ActiveAgent(net::io_context& ioc, net::ssl::context& ctx, const FleetConfig& cfg, FleetStats& stats,
                         Identity id, int64_t version)
    : ioc_(ioc), ctx_(ctx), cfg_(cfg), stats_(stats), id_(std::move(id)), version_(version),
      rng_(static_cast<unsigned>(std::hash<std::string>{}(id_.agent_id))),
      delta_(static_cast<size_t>(cfg.layout->size()), 1e-6f),
      timer_(ioc) {}

void ActiveAgent::start() {
  conn_ = std::make_shared<BenchConn>(ioc_, ctx_);
  conn_->connect(cfg_.server, id_, kTimeout, [self = shared_from_this()](beast::error_code ec) {
    if (ec) return self->failed("connect: " + ec.message());
    self->schedule();
  });
}

void ActiveAgent::schedule() {
  const double wait = cfg_.push_interval_s * std::uniform_real_distribution<double>(0.5, 1.5)(rng_);
  timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(wait * 1000)));
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->push();
  });
}

void ActiveAgent::push() {
  UpdateMetadata meta;
  meta.agent_id = id_.agent_id;
  meta.update_id = "s" + cfg_.run_id + "-" + std::to_string(++n_);
  meta.base_version = version_;
  meta.num_samples = 32;
  meta.train_loss = 0.5;
  meta.layout_fingerprint = cfg_.layout->fingerprint();
  auto body = encode_update(*cfg_.layout, delta_, meta);
  if (!body) return failed("encode: " + body.status().to_string());
  const auto t0 = std::chrono::steady_clock::now();
  conn_->exchange(make_request(http::verb::post, "/v1/updates", std::move(body).value(), "application/octet-stream"),
                  kTimeout, [self = shared_from_this(), t0](beast::error_code ec, const BenchConn::Response* r) {
                    if (ec) return self->failed("push: " + ec.message());
                    if (r->result_int() / 100 != 2) {
                      return self->failed("push: HTTP " + std::to_string(r->result_int()) + " " +
                                          r->body().substr(0, 200));
                    }
                    const double ms =
                        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                    auto ack = nlohmann::json::parse(r->body(), nullptr, false);
                    if (ack.is_object() && ack.contains("version")) self->version_ = ack["version"].get<int64_t>();
                    ++self->stats_.pushes;
                    {
                      std::lock_guard lock(self->stats_.mu);
                      self->stats_.push_latency.emplace_back(since(self->cfg_.start), ms);
                    }
                    self->schedule();
                  });
}

void ActiveAgent::failed(const std::string& what) {
  stats_.error(id_.agent_id + " " + what);
  conn_.reset();
  after(ioc_, 1.0, [self = shared_from_this()] { self->start(); });
}

}  // namespace edgefed::bench
