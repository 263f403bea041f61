#include "agent/link/model_cache.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "edgefed/file_io.hpp"

namespace edgefed::agent {
namespace {

// Cached files larger than this are refused (a damaged or foreign file).
constexpr int64_t kMaxCachedBytes = int64_t{1} << 30;

}  // namespace

Result<std::optional<CachedModel>> ModelCache::load() const {
  auto model = read_file(model_path(), kMaxCachedBytes);
  if (!model) return model.status();
  if (!*model) return std::optional<CachedModel>();
  auto etag = read_file(etag_path(), kMaxCachedBytes);
  CachedModel out{std::move(**model), ""};
  if (etag && *etag) out.etag = **etag;
  return std::optional<CachedModel>(std::move(out));
}

Status ModelCache::store(const CachedModel& model) const {
  // Old ETag first: a crash between the two writes leaves a model without an
  // ETag (refetched in full), never a new model under an old ETag.
  if (::unlink(etag_path().c_str()) != 0 && errno != ENOENT)
    return Status(Code::kIo, "cannot remove " + etag_path() + ": " + std::strerror(errno));
  EDGEFED_RETURN_IF_ERROR(write_file_atomic(model_path(), model.bytes));
  if (model.etag.empty()) return Status::ok();
  return write_file_atomic(etag_path(), model.etag);
}

}  // namespace edgefed::agent
