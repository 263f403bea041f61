#include "version_eval.hpp"

#include <sqlite3.h>

#include <vector>

#include "edgefed/model_io.hpp"

namespace edgefed::sim {
namespace {

Result<std::vector<uint8_t>> read_checkpoint(const std::string& db_path, int64_t version) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return Status(Code::kIo, "cannot open " + db_path);
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  Result<std::vector<uint8_t>> out = Status(Code::kNotFound, "version " + std::to_string(version) +
                                                                 " has no checkpoint in " + db_path);
  if (sqlite3_prepare_v2(db, "SELECT checkpoint FROM versions WHERE version = ?1", -1, &st, nullptr) != SQLITE_OK) {
    out = Status(Code::kIo, std::string("checkpoint query failed: ") + sqlite3_errmsg(db));
  } else {
    sqlite3_bind_int64(st, 1, version);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st, 0));
      out = std::vector<uint8_t>(p, p + sqlite3_column_bytes(st, 0));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace

Result<VersionAccuracy> evaluate_checkpoint(const std::string& db_path, int64_t version,
                                            ml::Evaluator& evaluator) {
  auto bytes = read_checkpoint(db_path, version);
  if (!bytes) return bytes.status();
  auto model = decode_model(*bytes);
  if (!model) return model.status();
  auto r = evaluator.evaluate(model->model);
  if (!r) return r.status();
  return VersionAccuracy{version, r->accuracy, r->loss};
}

}  // namespace edgefed::sim
