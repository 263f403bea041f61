// edgefed-export: a model as ONNX (or safetensors) from a model file or from
// a server's state directory, offline. docs/models.md, "Export".
#include <unistd.h>

#include <iostream>
#include <optional>
#include <string>

#include "edgefed/file_io.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/onnx_export.hpp"
#include "edgefed/model_io.hpp"
#include "server/export/export_options.hpp"
#include "server/store/read_only_store.hpp"
#include "server/store/store.hpp"

extern char** environ;

namespace {

using namespace edgefed;
using edgefed::server::ExportConfig;
using edgefed::server::ExportFormat;

// Model files are at most ModelSpec::kMaxParams floats and their header.
constexpr int64_t kMaxModelFileBytes = (ml::ModelSpec::kMaxParams + (int64_t{1} << 20)) * 4;

struct Loaded {
  std::string bytes;
  std::string source;  // for error messages
};

Result<Loaded> load_model_bytes(const ExportConfig& c) {
  if (!c.model.empty()) {
    auto bytes = read_file(c.model, kMaxModelFileBytes);
    if (!bytes) return bytes.status();
    if (!*bytes) return Status(Code::kIo, "no model file " + c.model);
    return Loaded{std::move(**bytes), c.model};
  }
  auto store = server::ReadOnlyStore::open(server::Store::database_path(c.state_dir));
  if (!store) return store.status();
  auto kept = (*store)->checkpointed();
  if (!kept) return kept.status();
  if (kept->empty()) return Status(Code::kNotFound, c.state_dir + " keeps no checkpoint");
  const int64_t version = c.version == 0 ? kept->back() : c.version;
  auto checkpoint = (*store)->checkpoint(version);
  if (!checkpoint) return checkpoint.status();
  if (!*checkpoint) {
    std::string list;
    for (int64_t v : *kept) list += (list.empty() ? "" : ", ") + std::to_string(v);
    return Status(Code::kNotFound,
                  "version " + std::to_string(version) + " has no checkpoint in " + c.state_dir + " (kept: " + list + ")");
  }
  return Loaded{std::move(**checkpoint), c.state_dir + " version " + std::to_string(version)};
}

// The file's architecture; --spec must agree with it, or supplies it for a
// file that has none (its tensors must then be the spec's).
Result<ml::ModelSpec> resolve_spec(const ExportConfig& c, Model& model, const std::string& source) {
  ml::upgrade_legacy_mlp(model);
  std::optional<ml::ModelSpec> given;
  if (!c.spec.empty()) {
    auto s = ml::ModelSpec::load(c.spec);
    if (!s) return s.status();
    given = std::move(*s);
  }
  if (!model.layout.architecture().empty()) {
    auto own = ml::ModelSpec::parse(model.layout.architecture());
    if (!own) return own.status();
    if (given && given->canonical_json() != own->canonical_json())
      return Status(Code::kInvalidArgument, "--spec " + c.spec + " is not the architecture of " + source + " (" +
                                                own->describe() + ")");
    return std::move(*own);
  }
  if (!given) return ml::ModelSpec::of_layout(model.layout);
  // The file's tensors with the spec as architecture: equal fingerprints
  // mean the same names, order and shapes.
  const ModelLayout layout = given->layout();
  auto as_given = ModelLayout::create(model.layout.tensors(), given->canonical_json());
  if (!as_given || !(*as_given == layout))
    return Status(Code::kInvalidArgument,
                  "the tensors of " + source + " (" + model.layout.describe() + ") are not those of --spec " + c.spec);
  Model with_spec(layout);
  with_spec.params = std::move(model.params);
  with_spec.normalizer = std::move(model.normalizer);
  model = std::move(with_spec);
  return std::move(*given);
}

Status write_output(const std::string& path, const std::string& bytes) {
  if (path != "-") return write_file_atomic(path, bytes);
  std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::cout.flush();
  return std::cout ? Status::ok() : Status(Code::kIo, "cannot write to standard output");
}

Status run(const ExportConfig& c) {
  auto loaded = load_model_bytes(c);
  if (!loaded) return loaded.status();
  const auto& raw = loaded->bytes;
  auto decoded = decode_model(std::span(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
  if (!decoded) return Status(decoded.status().code(), loaded->source + ": " + decoded.status().message());
  auto spec = resolve_spec(c, decoded->model, loaded->source);
  if (!spec) return spec.status();
  std::string out;
  if (c.format == ExportFormat::kOnnx) {
    ml::OnnxExportOptions o;
    o.producer_version = EDGEFED_VERSION;
    o.model_version = decoded->version;
    auto onnx = ml::export_onnx(*spec, decoded->model, o);
    if (!onnx) return onnx.status();
    out = std::move(*onnx);
  } else {
    out = encode_model(decoded->model, decoded->version);
  }
  EDGEFED_RETURN_IF_ERROR(write_output(c.output, out));
  if (c.output != "-")
    std::cerr << "edgefed-export: wrote " << c.output << " (" << enum_name(c.format) << ", " << out.size()
              << " bytes, version " << decoded->version << ", " << spec->describe() << ")\n";
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  ExportConfig config;
  Options options = server::make_export_options(config);
  try {
    options.parse(argc, argv, environ);
    if (options.help_requested()) {
      std::cout << options.help_text();
      return 0;
    }
    // The server image sets EDGEFED_STATE_DIR for the server: a --model
    // given on the command line is what the user asked for.
    if (!config.model.empty() && options.source("model") == "flag" && options.source("state-dir") != "flag")
      config.state_dir.clear();
    server::validate(config);
  } catch (const std::exception& e) {
    std::cerr << "edgefed-export: " << e.what() << "\n";
    return 2;
  }
  const Status st = run(config);
  if (!st.is_ok()) {
    std::cerr << "edgefed-export: " << st.to_string() << "\n";
    return 1;
  }
  return 0;
}
