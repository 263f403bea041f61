// A scoped write transaction: BEGIN IMMEDIATE on construction (check
// status()), ROLLBACK in the destructor unless commit() succeeded.
// Thread safety: none, as its Database. Must not outlive the Database.
#pragma once

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::sqlite {

class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // The result of BEGIN: nothing else is valid unless it is ok.
  const Status& status() const { return begin_; }
  // On failure the transaction is rolled back (by the destructor at the
  // latest) and nothing of it is durable.
  Status commit();

 private:
  Database& db_;
  Status begin_;
  bool done_ = false;
};

}  // namespace edgefed::sqlite
