#include "server/store/postgres/pg_transaction.hpp"

namespace edgefed::server {

PgTransaction::PgTransaction(PgConnection& conn, PgIsolation isolation) : conn_(conn), begin_(conn.begin(isolation)) {
  done_ = !begin_.is_ok();
}

PgTransaction::~PgTransaction() {
  if (!done_) conn_.rollback();
}

Status PgTransaction::commit() {
  if (done_) return Status(Code::kInternal, "postgres: commit of a transaction that is not open");
  done_ = true;
  Status st = conn_.commit();
  if (!st.is_ok()) conn_.rollback();
  return st;
}

}  // namespace edgefed::server
