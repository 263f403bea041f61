#include "server/store/read_only_store.hpp"

#include "server/store/schema.hpp"

namespace edgefed::server {

Result<std::unique_ptr<ReadOnlyStore>> ReadOnlyStore::open(const std::string& database_path) {
  auto db = sqlite::Database::open(database_path, {.read_only = true});
  if (!db.is_ok()) return db.status();
  EDGEFED_RETURN_IF_ERROR(check_schema(**db));
  return std::unique_ptr<ReadOnlyStore>(new ReadOnlyStore(std::move(db).value()));
}

}  // namespace edgefed::server
