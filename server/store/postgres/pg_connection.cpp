#include "server/store/postgres/pg_connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include "server/store/postgres/pg_error.hpp"

namespace edgefed::server {
namespace {

constexpr Oid kByteaOid = 17;

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

// The statement's first line, shortened, to say which call failed.
std::string sql_label(std::string_view sql) {
  const size_t start = sql.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "empty statement";
  sql.remove_prefix(start);
  std::string label(sql.substr(0, sql.find('\n')));
  if (label.size() > 60) label = label.substr(0, 57) + "...";
  return label;
}

// libpq's messages end with a newline; a verbose one carries "LOCATION:"
// lines (the server's source file) that say nothing to an operator.
std::string tidy(std::string_view message) {
  std::string out;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t end = message.find('\n', pos);
    if (end == std::string_view::npos) end = message.size();
    std::string_view line = message.substr(pos, end - pos);
    pos = end + 1;
    line.remove_prefix(std::min(line.size(), line.find_first_not_of(" \t")));
    if (line.empty() || line.starts_with("LOCATION:")) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

// The SQLSTATE in a verbose libpq message ("FATAL:  28P01: password
// authentication failed ..."), or "" (a failure without a server error:
// refused, unreachable, timed out).
std::string sqlstate_in(std::string_view message) {
  for (const std::string_view severity : {"FATAL:  ", "ERROR:  ", "PANIC:  "}) {
    size_t at = message.find(severity);
    while (at != std::string_view::npos) {
      const std::string_view code = message.substr(at + severity.size(), 6);
      bool ok = code.size() == 6 && code[5] == ':';
      for (size_t i = 0; ok && i < 5; ++i) {
        const char c = code[i];
        ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
      }
      if (ok) return std::string(code.substr(0, 5));
      at = message.find(severity, at + 1);
    }
  }
  return {};
}

// The password from options: a file's first line or an environment
// variable. nullopt-like: an empty string and ok when neither is set.
Result<std::string> read_password(const PgConnectOptions& options) {
  if (!options.password_file.empty() && !options.password_env.empty())
    return Status(Code::kInvalidArgument, "postgres: give the password as a file or an environment variable, not both");
  if (!options.password_file.empty()) {
    std::ifstream in(options.password_file, std::ios::binary);
    if (!in) {
      return Status(Code::kIo, "postgres: cannot read the password file " + options.password_file + ": " +
                                   std::strerror(errno));
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text = text.substr(0, text.find_first_of("\r\n"));
    if (text.empty())
      return Status(Code::kInvalidArgument, "postgres: the password file " + options.password_file + " is empty");
    return text;
  }
  if (!options.password_env.empty()) {
    const char* value = std::getenv(options.password_env.c_str());
    if (value == nullptr || *value == '\0') {
      return Status(Code::kInvalidArgument,
                    "postgres: the password variable " + options.password_env + " is not set or empty");
    }
    return std::string(value);
  }
  return std::string();
}

// Where an attempt went, for messages: "user@host:port/database".
std::string describe_conn(const PGconn* conn) {
  const char* user = PQuser(conn);
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  const char* db = PQdb(conn);
  std::string out = user != nullptr ? user : "";
  out += "@";
  out += host != nullptr ? host : "";
  out += ":";
  out += port != nullptr ? port : "";
  out += "/";
  out += db != nullptr ? db : "";
  return out;
}

}  // namespace

Result<PgConnection> PgConnection::connect(const std::string& conninfo, const PgConnectOptions& options) {
  Result<std::string> password = read_password(options);
  if (!password.is_ok()) return password.status();
  // A malformed string is the caller's error, not an unreachable server.
  // The string is not repeated whole: it may hold a password. (libpq reads
  // a string without '=' that is no URI as a database name.)
  const bool is_uri = conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://");
  if (is_uri || conninfo.find('=') != std::string::npos) {
    char* parse_error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
    if (parsed == nullptr) {
      const std::string why = parse_error != nullptr ? tidy(parse_error) : "out of memory";
      PQfreemem(parse_error);
      return Status(Code::kInvalidArgument, "postgres: bad connection string: " + why);
    }
    PQconninfoFree(parsed);
  }

  // Later keywords override earlier ones: our defaults, then the string
  // (expanded from dbname), then the password given in options.
  std::vector<const char*> keys = {"application_name", "client_encoding", "dbname"};
  std::vector<const char*> values = {options.application_name.c_str(), "UTF8", conninfo.c_str()};
  if (!password->empty()) {
    keys.push_back("password");
    values.push_back(password->c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  // Asynchronous connect, to set verbose errors before the server answers:
  // a refusal then carries its SQLSTATE (28P01, 3D000, 57P03, ...), which
  // the blocking call's message does not.
  PGconn* conn = PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return Status(Code::kInternal, "postgres: connect: out of memory");
  PgConnection owner(conn);
  PQsetNoticeProcessor(conn, ignore_notice, nullptr);
  PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.connect_timeout_ms);
  PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
  bool timed_out = false;
  if (PQstatus(conn) == CONNECTION_BAD) poll_status = PGRES_POLLING_FAILED;
  while (poll_status != PGRES_POLLING_OK && poll_status != PGRES_POLLING_FAILED) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{};
    pfd.fd = PQsocket(conn);
    pfd.events = poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    poll_status = PQconnectPoll(conn);
  }
  if (timed_out || PQstatus(conn) != CONNECTION_OK) {
    const std::string where = describe_conn(conn);
    if (timed_out) {
      return Status(Code::kUnavailable, "postgres: connect to " + where + ": no connection within " +
                                            std::to_string(options.connect_timeout_ms) + " ms");
    }
    const std::string message = PQerrorMessage(conn);
    if (PQconnectionNeedsPassword(conn)) {
      return Status(Code::kIo, "postgres: connect to " + where +
                                   ": the server asks for a password and none was given (" + tidy(message) + ")");
    }
    const std::string sqlstate = sqlstate_in(message);
    std::string text = tidy(message);
    if (!sqlstate.empty()) {
      // "FATAL:  28P01: password ..." -> "FATAL:  password ... (SQLSTATE 28P01)"
      const size_t at = text.find(sqlstate + ": ");
      if (at != std::string::npos) text.erase(at, sqlstate.size() + 2);
    }
    return pg_status(sqlstate, "connect to " + where, text);
  }
  PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
  return owner;
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

PgConnection::PgConnection(PgConnection&& o) noexcept : conn_(std::exchange(o.conn_, nullptr)) {}

PgConnection& PgConnection::operator=(PgConnection&& o) noexcept {
  if (this != &o) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(o.conn_, nullptr);
  }
  return *this;
}

Status PgConnection::error_status(const PGresult* res, std::string_view what) const {
  std::string message;
  const char* sqlstate = nullptr;
  if (res != nullptr) {
    sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    if (primary != nullptr) message = primary;
    if (detail != nullptr) message += std::string(message.empty() ? "" : "; ") + detail;
    if (message.empty()) message = tidy(PQresultErrorMessage(res));
  }
  if (message.empty()) message = tidy(PQerrorMessage(conn_));
  if (sqlstate == nullptr || *sqlstate == '\0') {
    // libpq's own failure: the connection is lost, or (with the connection
    // still up) a client-side error such as running out of memory.
    if (is_broken()) return pg_status("", what, message + " (connection " + describe() + " lost)");
    return Status(Code::kInternal, "postgres: " + std::string(what) + ": " + message);
  }
  return pg_status(sqlstate, what, message);
}

Status PgConnection::exec(std::string_view sql) {
  if (conn_ == nullptr) return Status(Code::kInternal, "postgres: exec on a moved-from connection");
  const std::string text(sql);
  PGresult* res = PQexec(conn_, text.c_str());
  const PgResult owner(res);
  const ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return Status::ok();
  return error_status(res, sql_label(sql));
}

Result<PgResult> PgConnection::query(std::string_view sql, const std::vector<PgParam>& params, PgFormat results) {
  if (conn_ == nullptr) return Status(Code::kInternal, "postgres: query on a moved-from connection");
  if (params.size() > 65535) return Status(Code::kInvalidArgument, "postgres: more than 65535 parameters");
  const size_t n = params.size();
  std::vector<const char*> values(n, nullptr);
  std::vector<int> lengths(n, 0);
  std::vector<int> formats(n, 0);
  std::vector<Oid> types(n, 0);
  // Text values go NUL-terminated (libpq reads text parameters up to the
  // first NUL): copied here, the vector reserved so the copies stay put.
  std::vector<std::string> texts;
  texts.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const PgParam& p = params[i];
    const std::string_view v = p.value();
    switch (p.kind()) {
      case PgParam::Kind::kNull:
        break;
      case PgParam::Kind::kText:
        if (v.find('\0') != std::string_view::npos) {
          return Status(Code::kInvalidArgument, "postgres: " + sql_label(sql) + ": text parameter $" +
                                                    std::to_string(i + 1) + " holds a NUL byte");
        }
        texts.emplace_back(v);
        values[i] = texts.back().c_str();
        break;
      case PgParam::Kind::kInt64:
        values[i] = v.data();  // NUL-terminated inside the PgParam
        break;
      case PgParam::Kind::kBytes:
        values[i] = v.data() != nullptr ? v.data() : "";
        lengths[i] = static_cast<int>(v.size());
        formats[i] = 1;
        types[i] = kByteaOid;
        break;
    }
  }
  const std::string text(sql);
  PGresult* res = PQexecParams(conn_, text.c_str(), static_cast<int>(n), types.data(), values.data(), lengths.data(),
                               formats.data(), results == PgFormat::kBinary ? 1 : 0);
  const ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return PgResult(res);
  const PgResult owner(res);
  return error_status(res, sql_label(sql));
}

Status PgConnection::begin(PgIsolation isolation) {
  // PostgreSQL only warns about a BEGIN inside a transaction.
  if (in_transaction()) return Status(Code::kInternal, "postgres: BEGIN: a transaction is already open");
  switch (isolation) {
    case PgIsolation::kReadCommitted:
      return exec("BEGIN");
    case PgIsolation::kRepeatableRead:
      return exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
    case PgIsolation::kSerializable:
      return exec("BEGIN ISOLATION LEVEL SERIALIZABLE");
  }
  return Status(Code::kInternal, "postgres: begin: unknown isolation level");
}

Status PgConnection::commit() {
  if (conn_ == nullptr) return Status(Code::kInternal, "postgres: commit on a moved-from connection");
  PGresult* res = PQexec(conn_, "COMMIT");
  const PgResult owner(res);
  if (res == nullptr || PQresultStatus(res) != PGRES_COMMAND_OK) return error_status(res, "COMMIT");
  // COMMIT of a failed transaction succeeds as a ROLLBACK.
  if (std::string_view(PQcmdStatus(res)) == "ROLLBACK") {
    return Status(Code::kInternal,
                  "postgres: COMMIT: a statement of the transaction had failed; PostgreSQL rolled it back");
  }
  return Status::ok();
}

void PgConnection::rollback() {
  if (conn_ == nullptr || is_broken()) return;
  const PGTransactionStatusType ts = PQtransactionStatus(conn_);
  if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR) return;
  PQclear(PQexec(conn_, "ROLLBACK"));
}

bool PgConnection::in_transaction() const {
  if (conn_ == nullptr) return false;
  const PGTransactionStatusType ts = PQtransactionStatus(conn_);
  return ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR || ts == PQTRANS_ACTIVE;
}

bool PgConnection::is_broken() const { return conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD; }

std::string PgConnection::describe() const { return conn_ != nullptr ? describe_conn(conn_) : "(no connection)"; }

}  // namespace edgefed::server
