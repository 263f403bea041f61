// The versions and their serving channels:
//   GET /v1/versions                 (viewer or admin) the versions of the
//                                     history, newest last, each with its
//                                     channel, whether it is kept, the fleet's
//                                     validation, the server's evaluation and
//                                     how many agents serve it; the stable and
//                                     canary versions and the cohort
// The kept versions as files, for agents, admins and tools:
//   GET /v1/versions/{N}/model       safetensors (what GET /v1/model served
//                                     as version N)
//   GET /v1/versions/{N}/model.onnx  the same model as ONNX (ml::export_onnx:
//                                     input "input", output "output", and
//                                     "probabilities" for classifiers)
// 404 when N has no checkpoint any more (pruned) or does not exist yet.
// Both send Content-Disposition with a file name (edgefed-vN.safetensors,
// edgefed-vN.onnx) and X-Model-Version.
//
// Thread safety: handle() may be called from any thread concurrently; the
// work (a checkpoint read, an export) runs on the worker pool.
#pragma once

#include "server/http/api_types.hpp"
#include "server/http/route_context.hpp"

namespace edgefed::server::http {

class VersionRoutes {
 public:
  // `context` must outlive the routes.
  explicit VersionRoutes(RouteContext& context) : ctx_(context) {}

  // kVersionModel or kVersionOnnx; req.route.version_param is N.
  void handle(ApiRequest& req, Responder done);
  // GET /v1/versions, from memory.
  ApiResponse list() const;

 private:
  RouteContext& ctx_;
};

}  // namespace edgefed::server::http
