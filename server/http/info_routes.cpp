#include "server/http/info_routes.hpp"

#include <prometheus/registry.h>
#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>

#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"
#include "server/web/web_assets.hpp"

namespace edgefed::server::http {

ApiResponse InfoRoutes::metrics_text() const {
  prometheus::TextSerializer serializer;
  ApiResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  auto families = registry_->Collect();
  for (const auto& c : ctx_.options().extra_collectables) {
    auto more = c->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  r.body = std::make_shared<const std::string>(serializer.Serialize(families));
  return r;
}

ApiResponse InfoRoutes::status_json(bool full) const {
  ServerStatus s = ctx_.engine().status();
  if (!full) s = anonymous_summary(std::move(s));
  return ApiResponse::json(200, to_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

ApiResponse InfoRoutes::index_page() const {
  ApiResponse r;
  r.content_type = "text/html; charset=utf-8";
  // The embedded page (server/web); static, so no copy per request.
  static const auto page = std::make_shared<const std::string>(web::index_html());
  r.body = page;
  return r;
}

ApiResponse InfoRoutes::health(bool readiness) const {
  if (!readiness) return ApiResponse::json(200, R"({"status":"ok"})");
  if (ctx_.draining()) return ApiResponse::error(Status(Code::kUnavailable, "shutting down"));
  if (!ctx_.engine().ready()) return ApiResponse::error(Status(Code::kUnavailable, "engine not ready"));
  return ApiResponse::json(200, R"({"status":"ready"})");
}

}  // namespace edgefed::server::http
