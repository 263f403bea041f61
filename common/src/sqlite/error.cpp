#include "edgefed/sqlite/error.hpp"

#include <sqlite3.h>

#include <string>

namespace edgefed::sqlite {

Code code_for(int sqlite_rc) {
  switch (sqlite_rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Code::kOk;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return Code::kUnavailable;
    case SQLITE_CONSTRAINT:
      return Code::kConflict;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return Code::kIo;
    default:
      return Code::kInternal;
  }
}

Status status_for(int sqlite_rc, std::string_view what, std::string_view detail) {
  Code code = code_for(sqlite_rc);
  if (code == Code::kOk) code = Code::kInternal;  // a caller's bug: an ok code is no failure
  std::string msg = "sqlite: ";
  msg += what;
  msg += ": ";
  msg += detail.empty() ? std::string_view(sqlite3_errstr(sqlite_rc)) : detail;
  msg += " (code " + std::to_string(sqlite_rc) + ")";
  return Status(code, std::move(msg));
}

bool transient(const Status& status) { return status.code() == Code::kUnavailable; }

}  // namespace edgefed::sqlite
