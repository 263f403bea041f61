#include "server/http/api.hpp"

#include <algorithm>
#include <chrono>

#include "edgefed/log.hpp"

namespace edgefed::server::http {

Api::Api(const HttpOptions& options, Engine& engine, std::shared_ptr<prometheus::Registry> registry,
         HttpMetrics& metrics, boost::asio::io_context& ioc, boost::asio::thread_pool& workers,
         SecAggService* secagg)
    : options_(options),
      engine_(engine),
      metrics_(metrics),
      auth_(options.admin_token, options.status_anonymous),
      limiter_(options.rate_limit_rps, options.rate_limit_burst),
      context_(options, engine, workers),
      agent_routes_(context_, ioc),
      admin_routes_(context_),
      version_routes_(context_),
      secagg_routes_(context_, secagg),
      info_routes_(context_, std::move(registry)) {}

Api::~Api() {
  std::unique_lock lock(gate_->mu);
  gate_->open = false;
}

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
  if (context_.draining() && id != RouteId::kHealthz && id != RouteId::kReadyz && id != RouteId::kMetrics) {
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
  Responder done = [this, gate = gate_, respond = std::move(respond), label, start](ApiResponse r) {
    std::shared_lock lock(gate->mu);
    if (!gate->open) return;
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
    case RouteId::kModel: return agent_routes_.get_model(req, std::move(done));
    case RouteId::kTask: return agent_routes_.get_task(who, std::move(done));
    case RouteId::kUpdates: return agent_routes_.post_update(req, who, std::move(done));
    case RouteId::kTelemetry: return agent_routes_.post_telemetry(req, who, std::move(done));
    case RouteId::kMetrics: return done(info_routes_.metrics_text());
    case RouteId::kHealthz: return done(info_routes_.health(false));
    case RouteId::kReadyz: return done(info_routes_.health(true));
    case RouteId::kStatus: return done(info_routes_.status_json(who.full_status));
    case RouteId::kIndex: return done(info_routes_.index_page());
    case RouteId::kAdminModel:
    case RouteId::kAdminModelInit:
    case RouteId::kAdminRollback:
    case RouteId::kAdminQuarantine:
    case RouteId::kAdminRelease:
    case RouteId::kAdminAgents:
    case RouteId::kAdminPromote: return admin_routes_.handle(req, who, std::move(done));
    case RouteId::kVersions: return done(version_routes_.list());
    case RouteId::kVersionModel:
    case RouteId::kVersionOnnx: return version_routes_.handle(req, std::move(done));
    case RouteId::kSecAggJoin: return secagg_routes_.join(req, who, std::move(done));
    case RouteId::kSecAggMessage: return secagg_routes_.message(req, who, std::move(done));
    case RouteId::kSecAggNext: return secagg_routes_.next(req, who, std::move(done));
    case RouteId::kNone: break;
  }
  done(ApiResponse::error(Status(Code::kNotFound, "no such route")));
}

void Api::begin_drain() {
  context_.begin_drain();
  agent_routes_.cancel_polls();
}

}  // namespace edgefed::server::http
