// The model an agent serves to its own application (local inference), kept
// apart from the global model it trains on: the last version that passed
// local validation (serving_rule.hpp). Persisted as STATE_DIR/serving.safetensors
// (the model file with its validation in the metadata), replaced atomically
// (edgefed/file_io.hpp), so a SIGKILL or power cut during a swap leaves the
// old or the new serving model, and the agent serves it at start before the
// link is up.
//
// Thread safety: current() is safe from any thread and never waits for a
// swap: readers hold a shared_ptr to an immutable ServedModel, so a
// prediction in flight finishes on the model it started with. install() and
// load() from one thread (the agent loop).
// Errors: kIo naming the file (install: nothing was published then).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "agent/serve/serving_rule.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

struct ServedModel {
  Model model;
  ml::ModelSpec spec;      // the architecture (ModelSpec::of_layout)
  Validation validation;   // validation.version is the served version
  int64_t installed_unix_ms = 0;
};

class ServingModel {
 public:
  explicit ServingModel(std::string state_dir);

  // Reads serving.safetensors if present. A missing file is ok (nothing
  // served yet); a damaged one is kIo and leaves nothing served (the next
  // validated version replaces it).
  Status load();

  // Writes `model` as the serving model, then publishes it. On failure the
  // previous model stays served.
  Status install(Model model, const Validation& validation, int64_t now_unix_ms);

  // nullptr while nothing is served.
  std::shared_ptr<const ServedModel> current() const { return current_.load(); }

  std::string path() const { return dir_ + "/serving.safetensors"; }

  // A model file as a ServedModel (its validation from the metadata when it
  // is a serving file); null when `path` does not exist. kIo naming the file
  // when it cannot be read or decoded.
  static Result<std::shared_ptr<ServedModel>> read(const std::string& path);

  // The file's bytes for a model (exposed for crash tests that write it).
  static std::string encode(const Model& model, const Validation& validation, int64_t installed_unix_ms);

 private:
  std::string dir_;
  std::atomic<std::shared_ptr<const ServedModel>> current_;
};

}  // namespace edgefed::agent
