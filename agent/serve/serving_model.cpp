#include "agent/serve/serving_model.hpp"

#include <charconv>
#include <cstdlib>
#include <span>

#include "edgefed/file_io.hpp"
#include "edgefed/model_io.hpp"

namespace edgefed::agent {
namespace {

constexpr int64_t kMaxServingFile = int64_t{300} << 20;  // ModelSpec::kMaxParams x 4 plus a header

std::string num(double v) {
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

bool get_double(const std::map<std::string, std::string>& m, const char* key, double& out) {
  auto it = m.find(key);
  if (it == m.end()) return false;
  const char* b = it->second.data();
  auto r = std::from_chars(b, b + it->second.size(), out);
  return r.ec == std::errc() && r.ptr == b + it->second.size();
}

}  // namespace

ServingModel::ServingModel(std::string state_dir) : dir_(std::move(state_dir)) {}

std::string ServingModel::encode(const Model& model, const Validation& v, int64_t installed_unix_ms) {
  return encode_model(model, v.version,
                      {{"serving_metric", to_string(v.metric)},
                       {"serving_value", num(v.value)},
                       {"serving_loss", num(v.loss)},
                       {"serving_samples", std::to_string(v.samples)},
                       {"serving_anomaly_threshold", num(v.anomaly_threshold)},
                       {"serving_installed_unix_ms", std::to_string(installed_unix_ms)}});
}

Result<std::shared_ptr<ServedModel>> ServingModel::read(const std::string& path) {
  auto bytes = read_file(path, kMaxServingFile);
  if (!bytes) return bytes.status();
  if (!*bytes) return std::shared_ptr<ServedModel>();
  const std::string& b = **bytes;
  auto decoded = decode_model(std::span(reinterpret_cast<const uint8_t*>(b.data()), b.size()));
  if (!decoded) return Status(Code::kIo, path + ": " + decoded.status().message());
  auto spec = ml::ModelSpec::of_layout(decoded->model.layout);
  if (!spec) return Status(Code::kIo, path + ": " + spec.status().message());
  auto served = std::make_shared<ServedModel>();
  served->spec = std::move(*spec);
  served->validation.version = decoded->version;
  const auto& md = decoded->metadata;
  if (auto it = md.find("serving_metric"); it != md.end())
    served->validation.metric = it->second == "loss" ? ServingMetric::kLoss : ServingMetric::kAccuracy;
  double samples = 0, installed = 0;
  get_double(md, "serving_value", served->validation.value);
  get_double(md, "serving_loss", served->validation.loss);
  get_double(md, "serving_anomaly_threshold", served->validation.anomaly_threshold);
  if (get_double(md, "serving_samples", samples)) served->validation.samples = static_cast<int64_t>(samples);
  if (get_double(md, "serving_installed_unix_ms", installed))
    served->installed_unix_ms = static_cast<int64_t>(installed);
  served->model = std::move(decoded->model);
  return served;
}

Status ServingModel::load() {
  auto served = read(path());
  if (!served) return served.status();
  if (*served) current_.store(std::move(*served));
  return Status::ok();
}

Status ServingModel::install(Model model, const Validation& validation, int64_t now_unix_ms) {
  auto spec = ml::ModelSpec::of_layout(model.layout);
  if (!spec) return spec.status();
  EDGEFED_RETURN_IF_ERROR(write_file_atomic(path(), encode(model, validation, now_unix_ms)));
  auto served = std::make_shared<ServedModel>();
  served->model = std::move(model);
  served->spec = std::move(*spec);
  served->validation = validation;
  served->installed_unix_ms = now_unix_ms;
  current_.store(std::move(served));
  return Status::ok();
}

}  // namespace edgefed::agent
