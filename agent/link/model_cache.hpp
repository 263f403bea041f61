// The last global model on disk (--state-dir), so an agent that restarts
// while the link is down can keep training. Two files in `dir`:
//   model.safetensors   the model exactly as GET /v1/model returned it
//   model.etag          its ETag (absent: unknown, the next fetch is full)
// Writes are atomic (edgefed/file_io.hpp): a crash leaves either the old or
// the new model, never a torn one.
//
// Thread safety: none; one owner. Failure: kIo naming the file.
#pragma once

#include <optional>
#include <string>

#include "edgefed/status.hpp"

namespace edgefed::agent {

struct CachedModel {
  std::string bytes;  // safetensors
  std::string etag;   // "" if unknown
};

class ModelCache {
 public:
  explicit ModelCache(std::string dir) : dir_(std::move(dir)) {}

  // nullopt if there is no cached model yet.
  Result<std::optional<CachedModel>> load() const;
  Status store(const CachedModel& model) const;

  std::string model_path() const { return dir_ + "/model.safetensors"; }
  std::string etag_path() const { return dir_ + "/model.etag"; }

 private:
  std::string dir_;
};

}  // namespace edgefed::agent
