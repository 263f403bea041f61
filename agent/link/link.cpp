#include "agent/link/link.hpp"

#include <algorithm>
#include <charconv>

#include "edgefed/log.hpp"

namespace edgefed::agent {
namespace {

// A Retry-After longer than this is not believed.
constexpr int64_t kMaxRetryAfterMs = 300'000;
// Bodies of JSON answers (task, acks, errors) larger than this are refused.
constexpr size_t kMaxJsonAnswer = 1u << 20;

bool transient_http(int status) { return status == 429 || status >= 500; }

int64_t retry_after_ms(const HttpResponse& r) {
  const std::string* v = r.header("Retry-After");
  if (!v) return 0;
  int64_t s = 0;
  const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), s);
  if (ec != std::errc() || s < 0) return 0;
  return std::min(s * 1000, kMaxRetryAfterMs);
}

// The server's error body as a Status; a generic one if it is not JSON.
Status status_from_response(const HttpResponse& r) { return status_from_http(r.status, r.body); }

}  // namespace

Result<std::pair<std::string, uint16_t>> parse_server_url(const std::string& url) {
  const std::string scheme = "https://";
  if (url.rfind(scheme, 0) != 0)
    return Status(Code::kInvalidArgument, "server URL must start with https://, got '" + url + "'");
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos)
    return Status(Code::kInvalidArgument, "server URL must not have a path: '" + url + "'");
  std::string host;
  std::string port_text;
  if (!rest.empty() && rest[0] == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return Status(Code::kInvalidArgument, "server URL: want https://[V6ADDR]:PORT, got '" + url + "'");
    host = rest.substr(1, close - 1);
    port_text = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos)
      return Status(Code::kInvalidArgument, "server URL must name a port: '" + url + "'");
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  }
  int port = 0;
  const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || ec != std::errc() || p != port_text.data() + port_text.size() || port < 1 ||
      port > 65535)
    return Status(Code::kInvalidArgument, "server URL: bad host or port in '" + url + "'");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<std::unique_ptr<Link>> Link::create(const LinkOptions& options, const Clock& clock,
                                           LinkFaultHook fault) {
  EDGEFED_RETURN_IF_ERROR(validate(options.backoff));
  auto hp = parse_server_url(options.server_url);
  if (!hp) return hp.status();
  HttpsClientOptions o;
  o.host = hp->first;
  o.port = hp->second;
  o.server_name = options.server_name;
  o.tls = options.tls;
  o.connect_timeout = options.connect_timeout;
  o.handshake_timeout = options.handshake_timeout;
  o.request_timeout = options.request_timeout;
  o.max_response_bytes = options.max_model_bytes;
  o.user_agent = "edgefed-agent";
  auto transport = make_https_transport(o);
  if (!transport) return transport.status();
  return create(options, std::move(*transport), clock, std::move(fault));
}

std::unique_ptr<Link> Link::create(const LinkOptions& options,
                                   std::unique_ptr<Transport> transport, const Clock& clock,
                                   LinkFaultHook fault) {
  return std::unique_ptr<Link>(new Link(options, std::move(transport), clock, std::move(fault)));
}

Link::Link(const LinkOptions& options, std::unique_ptr<Transport> transport, const Clock& clock,
           LinkFaultHook fault)
    : options_(options),
      transport_(std::move(transport)),
      clock_(clock),
      fault_(std::move(fault)),
      monitor_(clock, options.backoff, options.agent_id) {}

Link::Exchange Link::exchange(std::string_view method, std::string_view target,
                              std::string_view body, std::string_view content_type,
                              const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  Exchange ex;
  if (fault_ && fault_()) {
    transport_->close();
    ex.status = Status(Code::kUnavailable, "link cut (fault injection)");
    monitor_.on_failure(ex.status.message());
    return ex;
  }
  auto r = transport_->request(method, target, body, content_type, headers, timeout);
  if (!r) {
    ex.status = r.status();
    monitor_.on_failure(ex.status.to_string());
    return ex;
  }
  ex.response = std::move(*r);
  const int code = ex.response.status;
  if (transient_http(code)) {
    ex.status = status_from_response(ex.response);
    monitor_.on_failure("HTTP " + std::to_string(code) + " " + ex.status.to_string(),
                        retry_after_ms(ex.response));
    return ex;
  }
  monitor_.on_success();
  if ((code >= 200 && code < 300) || code == 304) {
    ex.outcome = Outcome::kOk;
  } else {
    ex.outcome = Outcome::kRejected;
    ex.status = status_from_response(ex.response);
  }
  return ex;
}

Result<Task> Link::fetch_task() {
  auto ex = exchange("GET", "/v1/task", {}, {}, {}, std::chrono::milliseconds{0});
  if (ex.outcome != Outcome::kOk) return ex.status;
  auto j = parse_json(ex.response.body, kMaxJsonAnswer);
  if (!j) return Status(Code::kInvalidArgument, "task: " + j.status().to_string());
  return parse_task(*j);
}

Result<ModelFetch> Link::fetch_model(std::string_view etag, int64_t after_version, int wait_s) {
  std::string target = "/v1/model";
  auto timeout = std::chrono::milliseconds{0};
  if (wait_s > 0) {
    target += "?wait=" + std::to_string(wait_s) + "&after=" + std::to_string(after_version);
    timeout = options_.request_timeout + std::chrono::seconds(wait_s);
  }
  HttpHeaders headers;
  if (!etag.empty()) headers.emplace_back("If-None-Match", std::string(etag));
  auto ex = exchange("GET", target, {}, {}, headers, timeout);
  if (ex.outcome != Outcome::kOk) return ex.status;
  ModelFetch m;
  if (const auto* v = ex.response.header("X-Model-Version")) {
    int64_t version = -1;
    const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), version);
    if (ec == std::errc()) m.version = version;
  }
  if (const auto* e = ex.response.header("ETag")) m.etag = *e;
  if (ex.response.status == 304) {
    m.not_modified = true;
    if (m.etag.empty()) m.etag = std::string(etag);
    return m;
  }
  m.bytes = std::move(ex.response.body);
  return m;
}

Result<std::string> Link::fetch_version(int64_t version) {
  auto ex = exchange("GET", "/v1/versions/" + std::to_string(version) + "/model", {}, {}, {},
                     std::chrono::milliseconds{0});
  if (ex.outcome != Outcome::kOk) return ex.status;
  return std::move(ex.response.body);
}

PushResult Link::push_update(std::string_view body) {
  auto ex = exchange("POST", "/v1/updates", body, "application/octet-stream", {},
                     std::chrono::milliseconds{0});
  PushResult out{ex.outcome, {}, ex.status};
  if (ex.outcome != Outcome::kOk) return out;
  // A 2xx means the update is durable on the server even if the answer body
  // cannot be read: it is acknowledged either way.
  auto j = parse_json(ex.response.body, kMaxJsonAnswer);
  auto ack = j ? parse_update_ack(*j) : Result<UpdateAck>(j.status());
  if (ack) {
    out.ack = *ack;
  } else {
    log::warn("update_ack_unreadable")
        .kv("agent", options_.agent_id)
        .kv("http_status", ex.response.status)
        .kv("error", ack.status().to_string());
  }
  return out;
}

TelemetryResult Link::post_telemetry(const TelemetryBatch& batch) {
  const std::string body = to_json(batch).dump();
  auto ex = exchange("POST", "/v1/telemetry", body, "application/json", {},
                     std::chrono::milliseconds{0});
  TelemetryResult out{ex.outcome, 0, ex.status};
  if (ex.outcome != Outcome::kOk) return out;
  auto j = parse_json(ex.response.body, kMaxJsonAnswer);
  auto ack = j ? parse_telemetry_ack(*j) : Result<TelemetryAck>(j.status());
  if (!ack) {
    // Without acked_through nothing can be deleted; resending is harmless
    // (the server ignores duplicate seqs).
    out.outcome = Outcome::kRetry;
    out.status = Status(Code::kInvalidArgument, "telemetry ack: " + ack.status().to_string());
    return out;
  }
  out.acked_through = ack->acked_through;
  return out;
}

SecAggResult Link::secagg_result(Exchange ex, bool need_body) {
  SecAggResult out;
  out.outcome = ex.outcome;
  out.http_status = ex.response.status;
  out.status = std::move(ex.status);
  if (ex.outcome != Outcome::kOk) return out;
  auto j = parse_json(ex.response.body, kMaxJsonAnswer);
  if (j && j->is_object()) {
    out.body = std::move(*j);
  } else if (need_body) {
    // The server answered but not with anything to act on: ask again later
    // (the link itself is fine, so the monitor is not told).
    out.outcome = Outcome::kRetry;
    out.status = Status(Code::kInvalidArgument, "secure aggregation answer (HTTP " +
                                                    std::to_string(ex.response.status) + ") is not a JSON object" +
                                                    (j ? std::string() : ": " + j.status().to_string()));
  }
  return out;
}

SecAggResult Link::secagg_join(int64_t base_version) {
  const std::string body = nlohmann::json{{"base_version", base_version}}.dump();
  return secagg_result(exchange("POST", "/v1/secagg/join", body, "application/json", {}, std::chrono::milliseconds{0}),
                       true);
}

SecAggResult Link::secagg_post(const nlohmann::json& message) {
  // A masked input is about 5.4 bytes per coordinate: the request timeout
  // covers it like an update body.
  return secagg_result(
      exchange("POST", "/v1/secagg/message", message.dump(), "application/json", {}, std::chrono::milliseconds{0}),
      false);
}

SecAggResult Link::secagg_next(const std::string& session) {
  // Session ids are [A-Za-z0-9._:-] (secagg::valid_session_id): nothing to escape.
  return secagg_result(
      exchange("GET", "/v1/secagg/next?session=" + session, {}, {}, {}, std::chrono::milliseconds{0}), true);
}

bool retryable(Code code) {
  return code == Code::kUnavailable || code == Code::kRateLimited || code == Code::kInternal;
}

}  // namespace edgefed::agent
