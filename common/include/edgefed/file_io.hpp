// Whole files in and out, for state that must survive a crash: the agent's
// model cache and sync marks, exported models.
//
// write_file_atomic writes `path.tmp` (mode 0600), fsyncs it, renames it
// over `path` and fsyncs the directory: after a crash or power loss `path`
// holds either its old or its new bytes, never a torn mix.
//
// Thread safety: free functions; two writers of the same path race (the
// temporary file is shared), so one owner per path. Errors: kIo naming the
// file and the system's reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "edgefed/status.hpp"

namespace edgefed {

// The file's bytes; nullopt if it does not exist; kIo if it cannot be read
// or is larger than `max_bytes` (a damaged or foreign file).
Result<std::optional<std::string>> read_file(const std::string& path, int64_t max_bytes);

Status write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace edgefed
