#include "server/http/version_routes.hpp"

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/onnx_export.hpp"
#include "edgefed/model_io.hpp"

namespace edgefed::server::http {

ApiResponse VersionRoutes::list() const {
  const ServerStatus status = ctx_.engine().status();
  const auto view = ctx_.engine().serving();
  // Kept versions, and every version the channels decided on (a rejected
  // one stays listed after its checkpoint is pruned; the stable one is
  // listed however far behind the newest it is). The status history holds
  // the newest versions only: older ones are listed without their
  // creation time, update count and evaluation.
  std::map<int64_t, const VersionPoint*> listed;
  for (const VersionPoint& p : status.history)
    if (view->channels.count(p.version) || ctx_.engine().kept(p.version)) listed[p.version] = &p;
  for (const auto& [version, channel] : view->channels) listed.try_emplace(version, nullptr);
  nlohmann::json versions = nlohmann::json::array();
  for (const auto& [version, point] : listed) {
    nlohmann::json v;
    v["version"] = version;
    if (point) {
      v["created_unix_ms"] = point->unix_ms;
      v["updates"] = point->updates;
    }
    v["kept"] = ctx_.engine().kept(version);
    v["channel"] = std::string(enum_name(view->channel_of(version)));
    if (auto c = view->channels.find(version); c != view->channels.end()) {
      v["channel_changed_unix_ms"] = c->second.changed_unix_ms;
      v["channel_reason"] = c->second.reason;
    }
    if (auto f = view->validations.find(version); f != view->validations.end()) {
      const FleetValidation& fv = f->second;
      v["fleet_validation"] = {{"metric", fv.metric},       {"value", fv.value},
                               {"serving_value", fv.serving_value}, {"worse_by", fv.worse_by()},
                               {"agents", fv.agents},       {"cohort_agents", fv.cohort_agents},
                               {"samples", fv.samples}};
    }
    if (point) {
      nlohmann::json eval = nlohmann::json::object();
      if (status.loss_source == "eval" && point->loss) eval["loss"] = *point->loss;
      if (point->accuracy) eval["accuracy"] = *point->accuracy;
      if (point->mae) eval["mae"] = *point->mae;
      if (!eval.empty()) v["evaluation"] = eval;
    }
    auto serving = view->serving_agents.find(version);
    v["serving_agents"] = serving == view->serving_agents.end() ? 0 : serving->second;
    versions.push_back(std::move(v));
  }
  nlohmann::json j;
  j["channels_enabled"] = view->enabled;
  j["stable"] = view->stable;
  j["canary"] = view->canary;
  if (view->canary >= 0) j["canary_since_unix_ms"] = view->canary_since_unix_ms;
  j["cohort_size"] = view->cohort_size;
  j["known_agents"] = view->known_agents;
  // Per device class ("(none)": agents that named none; a class name cannot
  // hold parentheses): known agents and how many of them the cohort holds.
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& [cls, c] : view->classes)
    classes[cls.empty() ? "(none)" : cls] = {{"agents", c.agents}, {"cohort", c.cohort}};
  j["cohort_classes"] = std::move(classes);
  j["newest"] = status.model_version;
  j["versions"] = std::move(versions);
  return ApiResponse::json(200, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void VersionRoutes::handle(ApiRequest& req, Responder done) {
  const bool onnx = req.route.id == RouteId::kVersionOnnx;
  const int64_t version = req.route.version_param;
  ctx_.run_blocking(std::move(done), [this, onnx, version]() -> ApiResponse {
    auto model = ctx_.engine().kept_model(version);
    if (!model) return ApiResponse::error(model.status());
    std::string bytes;
    if (onnx) {
      auto spec = ml::ModelSpec::of_layout(model->layout);
      if (!spec) return ApiResponse::error(Status(Code::kUnprocessable, "version " + std::to_string(version) +
                                                                            " has no exportable architecture: " +
                                                                            spec.status().message()));
      ml::OnnxExportOptions o;
      o.producer_version = EDGEFED_VERSION;
      o.model_version = version;
      auto exported = ml::export_onnx(*spec, *model, o);
      if (!exported) return ApiResponse::error(exported.status());
      bytes = std::move(*exported);
    } else {
      bytes = encode_model(*model, version);
    }
    ApiResponse r;
    r.content_type = "application/octet-stream";
    r.headers.emplace_back("X-Model-Version", std::to_string(version));
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"edgefed-v" + std::to_string(version) +
                                                      (onnx ? ".onnx\"" : ".safetensors\""));
    r.body = std::make_shared<const std::string>(std::move(bytes));
    return r;
  });
}

}  // namespace edgefed::server::http
