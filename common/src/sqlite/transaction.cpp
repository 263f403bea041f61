#include "edgefed/sqlite/transaction.hpp"

namespace edgefed::sqlite {

Transaction::Transaction(Database& db) : db_(db), begin_(db.begin()) {}

Transaction::~Transaction() {
  if (begin_.is_ok() && !done_) db_.rollback();
}

Status Transaction::commit() {
  EDGEFED_RETURN_IF_ERROR(begin_);
  Status st = db_.commit();
  if (st.is_ok()) done_ = true;
  return st;
}

}  // namespace edgefed::sqlite
