#include "server/http/api.hpp"

#include <algorithm>

#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "edgefed/log.hpp"
#include "server/http/long_poll.hpp"

namespace edgefed::server::http {

ApiResponse ApiResponse::json(int status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.body = std::make_shared<const std::string>(std::move(body));
  return r;
}

ApiResponse ApiResponse::error(const Status& status) {
  ApiResponse r = json(http_status_for(status.code()), error_body(status));
  // Every 503 is temporary (overload, shutdown, a full disk or a failed
  // fsync in the store): tell the client when to come back. Agents retry
  // with their own backoff either way; this is for everyone else.
  if (r.status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

Api::Api(const HttpOptions& options, Engine& engine, std::shared_ptr<prometheus::Registry> registry,
         HttpMetrics& metrics, boost::asio::io_context& ioc, boost::asio::thread_pool& workers)
    : options_(options),
      engine_(engine),
      registry_(std::move(registry)),
      metrics_(metrics),
      ioc_(ioc),
      workers_(workers),
      auth_(options.admin_token, options.status_anonymous),
      limiter_(options.rate_limit_rps, options.rate_limit_burst) {}

Api::~Api() = default;

uint64_t Api::model_bytes() const {
  const auto snap = engine_.current_model();
  return snap.bytes ? snap.bytes->size() : 0;
}

uint64_t Api::body_limit(BodyClass body) const {
  switch (body) {
    case BodyClass::kUpdate:
      if (options_.update_body_limit > 0) return options_.update_body_limit;
      return 2 * model_bytes() + (1u << 20);
    case BodyClass::kJson: return options_.json_body_limit;
    case BodyClass::kModel: return options_.admin_body_limit;
    case BodyClass::kSmall: break;
  }
  return options_.small_body_limit;
}

bool Api::claim_update_bytes(uint64_t bytes) {
  const uint64_t bound = options_.max_update_bytes_in_flight > 0
                             ? options_.max_update_bytes_in_flight
                             : std::max<uint64_t>(256ull << 20, 8 * model_bytes());
  uint64_t now = update_bytes_in_flight_.load();
  for (;;) {
    // One update always fits when nothing else is in flight, whatever its size.
    if (now > 0 && now + bytes > bound) return false;
    if (update_bytes_in_flight_.compare_exchange_weak(now, now + bytes)) return true;
  }
}

void Api::release_update_bytes(uint64_t bytes) { update_bytes_in_flight_ -= bytes; }

std::optional<ApiResponse> Api::admit(const ApiRequest& req, Principal& who) {
  if (!req.route.error.is_ok()) {
    ApiResponse r = ApiResponse::error(req.route.error);
    if (!req.route.allow.empty()) r.headers.emplace_back("Allow", req.route.allow);
    return r;
  }
  const RouteId id = req.route.id;
  if (draining_ && id != RouteId::kHealthz && id != RouteId::kReadyz && id != RouteId::kMetrics) {
    ApiResponse r = ApiResponse::error(Status(Code::kUnavailable, "server is shutting down"));
    r.close = true;
    return r;
  }
  auto p = auth_.authorize(req.route.access, req.peer, req.authorization);
  if (!p) {
    log::info("request_refused").kv("route", std::string(req.route.label)).kv("reason", p.status().to_string())
        .kv("remote", req.peer.remote);
    return ApiResponse::error(p.status());
  }
  if (!p->agent_id.empty()) {
    if (const int retry = limiter_.acquire(p->agent_id); retry > 0) {
      ApiResponse r = ApiResponse::error(Status(Code::kRateLimited, "too many requests from " + p->agent_id));
      r.headers.emplace_back("Retry-After", std::to_string(retry));
      return r;
    }
  }
  who = std::move(p).value();
  return std::nullopt;
}

void Api::refuse(std::string_view route_label, ApiResponse response, const Responder& respond) {
  metrics_.observe(route_label, response.status, 0.0);
  respond(std::move(response));
}

void Api::handle(ApiRequest req, Principal who, Responder respond) {
  const auto start = std::chrono::steady_clock::now();
  ++in_flight_;
  const std::string_view label = req.route.label;
  Responder done = [this, respond = std::move(respond), label, start](ApiResponse r) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_.observe(label, r.status, s);
    respond(std::move(r));
    --in_flight_;
  };
  try {
    dispatch(req, who, done);
  } catch (const std::exception& e) {
    log::error("handler_exception").kv("route", std::string(label)).kv("what", e.what());
    if (done) done(ApiResponse::error(Status(Code::kInternal, "internal error")));
  }
}

void Api::dispatch(ApiRequest& req, const Principal& who, Responder& done) {
  switch (req.route.id) {
    case RouteId::kModel: return get_model(req, std::move(done));
    case RouteId::kTask: return get_task(who, std::move(done));
    case RouteId::kUpdates: return post_update(req, who, std::move(done));
    case RouteId::kTelemetry: return post_telemetry(req, who, std::move(done));
    case RouteId::kMetrics: return done(metrics_text());
    case RouteId::kHealthz: return done(health(false));
    case RouteId::kReadyz: return done(health(true));
    case RouteId::kStatus: return done(status_json(who.full_status));
    case RouteId::kIndex: return done(index_page());
    case RouteId::kAdminModel:
    case RouteId::kAdminModelInit:
    case RouteId::kAdminRollback:
    case RouteId::kAdminQuarantine:
    case RouteId::kAdminRelease:
    case RouteId::kAdminAgents: return admin(req, who, std::move(done));
    case RouteId::kNone: break;
  }
  done(ApiResponse::error(Status(Code::kNotFound, "no such route")));
}

void Api::run_blocking(Responder done, std::function<ApiResponse()> work) {
  boost::asio::post(workers_, [done = std::move(done), work = std::move(work)]() mutable {
    ApiResponse r;
    try {
      r = work();
    } catch (const std::exception& e) {
      log::error("handler_exception").kv("what", e.what());
      r = ApiResponse::error(Status(Code::kInternal, "internal error"));
    }
    done(std::move(r));
  });
}

void Api::begin_drain() {
  draining_ = true;
  std::vector<std::shared_ptr<LongPoll>> polls;
  {
    std::lock_guard lock(polls_mu_);
    for (auto& [ptr, weak] : polls_)
      if (auto p = weak.lock()) polls.push_back(std::move(p));
  }
  for (auto& p : polls) p->cancel();
}

void Api::forget_poll(LongPoll* poll) {
  std::lock_guard lock(polls_mu_);
  polls_.erase(poll);
}

}  // namespace edgefed::server::http
