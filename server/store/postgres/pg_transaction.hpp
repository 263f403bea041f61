// A scoped PostgreSQL transaction: BEGIN on construction (check status()),
// ROLLBACK in the destructor unless commit() succeeded.
// Thread safety: none, as its PgConnection. Must not outlive it.
#pragma once

#include "edgefed/status.hpp"
#include "server/store/postgres/pg_connection.hpp"

namespace edgefed::server {

class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& conn, PgIsolation isolation = PgIsolation::kReadCommitted);
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  // The result of BEGIN: nothing else is valid unless it is ok.
  const Status& status() const { return begin_; }
  // PgConnection::commit(): kUnavailable may or may not have committed.
  Status commit();

 private:
  PgConnection& conn_;
  Status begin_;
  bool done_ = false;
};

}  // namespace edgefed::server
