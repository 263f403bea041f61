// The one mapping of SQLite result codes to edgefed::Status codes, used by
// every connection of the project (server store, agent outbox, readers):
//
//   SQLITE_BUSY, SQLITE_LOCKED            -> kUnavailable  (another writer; retry)
//   SQLITE_FULL, SQLITE_IOERR_*           -> kUnavailable  (disk full, failed
//                                            write or fsync: the change is not
//                                            durable, the caller may retry once
//                                            the fault clears; HTTP 503)
//   SQLITE_CONSTRAINT_*                   -> kConflict
//   SQLITE_CORRUPT, SQLITE_NOTADB,
//   SQLITE_CANTOPEN, SQLITE_READONLY,
//   SQLITE_PERM, SQLITE_PROTOCOL          -> kIo           (the file itself is
//                                            unusable: an operator must look)
//   anything else (SQL errors, misuse)    -> kInternal     (a bug)
//
// Extended codes are reduced to their primary code first. Thread-safe.
#pragma once

#include <string_view>

#include "edgefed/status.hpp"

namespace edgefed::sqlite {

// The Code for a SQLite result code (primary or extended). kOk for
// SQLITE_OK, SQLITE_ROW and SQLITE_DONE.
Code code_for(int sqlite_rc);

// A Status for a failed SQLite call: code_for(rc) and "sqlite: <what>:
// <detail> (<name of rc>)".
Status status_for(int sqlite_rc, std::string_view what, std::string_view detail);

// True for the failures a caller may retry after the fault clears
// (code_for(rc) == kUnavailable): busy, locked, disk full, I/O error.
bool transient(const Status& status);

}  // namespace edgefed::sqlite
