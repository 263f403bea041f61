// edgefed-export's options (one table: flag, EDGEFED_* variable, config key,
// default, help line) and the typed configuration they fill.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "edgefed/enum_names.hpp"
#include "edgefed/options.hpp"

namespace edgefed::server {

enum class ExportFormat { kOnnx, kSafetensors };
inline constexpr EnumName<ExportFormat> kExportFormatNames[] = {{ExportFormat::kOnnx, "onnx"},
                                                                {ExportFormat::kSafetensors, "safetensors"}};
constexpr std::span<const EnumName<ExportFormat>> enum_names(ExportFormat) { return kExportFormatNames; }

struct ExportConfig {
  std::string model;      // a model file (safetensors with "model_spec" metadata)
  std::string state_dir;  // or a server's state directory
  int64_t version = 0;    // with --state-dir: 0 = the newest checkpointed version
  std::string spec;       // the architecture when the file carries none (preset or FILE.json)
  ExportFormat format = ExportFormat::kOnnx;
  std::string output;     // a path, or "-" for standard output
};

// Binds every field of `config`; Options::parse fills them.
Options make_export_options(ExportConfig& config);

// Exactly one of --model and --state-dir, and --output: ConfigError otherwise.
void validate(const ExportConfig& config);

}  // namespace edgefed::server
