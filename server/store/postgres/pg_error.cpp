#include "server/store/postgres/pg_error.hpp"

#include <string>

namespace edgefed::server {

Code pg_code_for(std::string_view sqlstate) {
  if (sqlstate.empty()) return Code::kUnavailable;
  const std::string_view cls = sqlstate.substr(0, 2);
  if (cls == "08" || cls == "53") return Code::kUnavailable;
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "57014")
    return Code::kUnavailable;
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "40003") return Code::kUnavailable;
  if (sqlstate == "55P03" || sqlstate == "55006") return Code::kUnavailable;
  if (sqlstate == "25006" || sqlstate == "25P03") return Code::kUnavailable;
  if (cls == "23" || sqlstate == "40002") return Code::kConflict;
  if (cls == "28" || cls == "58" || sqlstate == "3D000" || sqlstate == "42501" || sqlstate == "XX001" ||
      sqlstate == "XX002")
    return Code::kIo;
  return Code::kInternal;
}

Status pg_status(std::string_view sqlstate, std::string_view what, std::string_view message) {
  std::string msg = "postgres: ";
  msg += what;
  msg += ": ";
  msg += message.empty() ? std::string_view("unknown error") : message;
  if (!sqlstate.empty()) {
    msg += " (SQLSTATE ";
    msg += sqlstate;
    msg += ")";
  }
  return Status(pg_code_for(sqlstate), std::move(msg));
}

bool pg_transient(const Status& status) { return status.code() == Code::kUnavailable; }

}  // namespace edgefed::server
