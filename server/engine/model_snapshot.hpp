// An immutable encoded model (safetensors bytes) and its identity, shared by
// pointer between the engine and any number of HTTP responses.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace edgefed::server {

struct ModelSnapshot {
  int64_t version = 0;
  std::shared_ptr<const std::string> bytes;  // never null once the engine is open
  std::string etag;  // strong ETag with quotes: "\"v42-<layout fingerprint>\""
};

}  // namespace edgefed::server
