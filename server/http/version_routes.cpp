#include "server/http/version_routes.hpp"

#include <memory>
#include <string>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/onnx_export.hpp"
#include "edgefed/model_io.hpp"

namespace edgefed::server::http {

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
