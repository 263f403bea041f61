#include "server/export/export_options.hpp"

namespace edgefed::server {

Options make_export_options(ExportConfig& c) {
  Options o("edgefed-export",
            "Writes a model as ONNX (or safetensors) for inference runtimes, from a model file or a server's "
            "state directory. Exit status: 0 written, 1 failed (one line on stderr), 2 bad usage.");
  o.bind("model", &c.model, "the model file to convert (a checkpoint, GET /v1/model, an agent's model file)");
  o.bind("state-dir", &c.state_dir, "the server state directory to read a version's checkpoint from (read only)");
  o.bind("version", &c.version, "with --state-dir: the version to export; 0 = the newest checkpointed one")
      .at_least(0);
  o.bind("spec", &c.spec,
         "the model spec (a preset or FILE.json) when the file carries none; otherwise it must match the file's");
  o.bind("format", &c.format, "what to write");
  o.bind("output", &c.output, "the file to write (replaced atomically), or - for standard output");
  return o;
}

void validate(const ExportConfig& c) {
  if (c.model.empty() == c.state_dir.empty()) throw ConfigError("give exactly one of --model and --state-dir");
  if (!c.model.empty() && c.version != 0) throw ConfigError("--version needs --state-dir");
  if (c.output.empty()) throw ConfigError("--output is required (a file, or - for standard output)");
}

}  // namespace edgefed::server
