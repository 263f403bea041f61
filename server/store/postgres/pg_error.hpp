// The one mapping of PostgreSQL errors to edgefed::Status codes, used by
// every PostgreSQL connection of the server (pg_connection.hpp). By SQLSTATE
// (the server's five-character error code):
//
//   no SQLSTATE: libpq lost the server,
//   class 08 (connection exception),
//   57P01 admin shutdown, 57P02 crash shutdown,
//   57P03 cannot connect now (starting up or in recovery),
//   57014 query canceled (statement timeout),
//   40001 serialization failure, 40P01 deadlock,
//   40003 statement completion unknown,
//   55P03 lock not available, 55006 object in use,
//   25006 read-only transaction (a standby after failover),
//   25P03 idle-in-transaction timeout,
//   class 53 (disk full, out of memory,
//   too many connections)                         -> kUnavailable (retry the
//                                                    transaction, on a new
//                                                    connection if the old
//                                                    one is broken; HTTP 503)
//   class 23 (unique, foreign key, not null,
//   check, exclusion violations), 40002           -> kConflict
//   class 28 (password or user refused),
//   3D000 no such database,
//   42501 insufficient privilege,
//   class 58 (system and I/O errors),
//   XX001 data corrupted, XX002 index corrupted   -> kIo (the database refuses
//                                                    or cannot serve us: an
//                                                    operator must look)
//   anything else (SQL errors, bad values)        -> kInternal (a bug)
//
// Credentials refused are kIo, not kUnauthenticated: they are the server's
// configuration, never an agent's, and must not reach an agent as a 401.
// Thread-safe.
#pragma once

#include <string_view>

#include "edgefed/status.hpp"

namespace edgefed::server {

// The Code for a SQLSTATE; "" (no SQLSTATE) is a lost connection.
Code pg_code_for(std::string_view sqlstate);

// A Status for a failed PostgreSQL call: pg_code_for(sqlstate) and
// "postgres: <what>: <message> (SQLSTATE <sqlstate>)" (no parenthesis
// without a SQLSTATE).
Status pg_status(std::string_view sqlstate, std::string_view what, std::string_view message);

// True for the failures a caller may retry (kUnavailable): see above.
bool pg_transient(const Status& status);

}  // namespace edgefed::server
