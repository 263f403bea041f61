#include "server/store/store.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "server/store/schema.hpp"

namespace edgefed::server {

std::string Store::database_path(const std::string& state_dir) { return state_dir + "/edgefed.sqlite"; }

Result<std::unique_ptr<Store>> Store::open(const std::string& state_dir, bool fsync_full, int64_t max_bytes) {
  if (state_dir.empty()) return Result<std::unique_ptr<Store>>(Code::kInvalidArgument, "state_dir is empty");
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Result<std::unique_ptr<Store>>(Code::kIo, "mkdir " + state_dir + ": " + std::strerror(errno));
  }
  auto db = SqliteDb::open(database_path(state_dir), fsync_full);
  if (!db.is_ok()) return db.status();
  EDGEFED_RETURN_IF_ERROR(ensure_schema(**db));
  EDGEFED_RETURN_IF_ERROR((*db)->set_max_bytes(max_bytes));
  return std::unique_ptr<Store>(new Store(std::move(db).value()));
}

}  // namespace edgefed::server
