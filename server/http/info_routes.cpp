// Api handlers of the public read-only calls: /metrics, /healthz, /readyz,
// /v1/status and the index page.
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"
#include "server/http/api.hpp"

namespace edgefed::server::http {
namespace {

// A minimal page that renders /v1/status; the full status page lives in
// server/web (observability issue).
constexpr const char* kIndexHtml = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgefed server</title>
<style>body{font-family:sans-serif;margin:2em}pre{background:#f4f4f4;padding:1em}</style></head>
<body><h1>edgefed server</h1><p id="summary">loading /v1/status&hellip;</p><pre id="raw"></pre>
<script>
fetch('/v1/status').then(r => r.json()).then(s => {
  document.getElementById('summary').textContent =
    'model version ' + s.model_version + ', mode ' + s.mode + ', ' + s.agents + ' agents, ' +
    s.updates_accepted + ' updates accepted, ' + s.updates_merged + ' merged';
  document.getElementById('raw').textContent = JSON.stringify(s, null, 2);
}).catch(e => { document.getElementById('summary').textContent = 'status unavailable: ' + e; });
</script></body></html>
)";

}  // namespace

ApiResponse Api::metrics_text() const {
  prometheus::TextSerializer serializer;
  ApiResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::make_shared<const std::string>(serializer.Serialize(registry_->Collect()));
  return r;
}

ApiResponse Api::status_json() const {
  return ApiResponse::json(200, to_json(engine_.status()).dump(-1, ' ', false,
                                                              nlohmann::json::error_handler_t::replace));
}

ApiResponse Api::index_page() const {
  ApiResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::make_shared<const std::string>(kIndexHtml);
  return r;
}

ApiResponse Api::health(bool readiness) const {
  if (!readiness) return ApiResponse::json(200, R"({"status":"ok"})");
  if (draining_) return ApiResponse::error(Status(Code::kUnavailable, "shutting down"));
  if (!engine_.ready()) return ApiResponse::error(Status(Code::kUnavailable, "engine not ready"));
  return ApiResponse::json(200, R"({"status":"ready"})");
}

}  // namespace edgefed::server::http
