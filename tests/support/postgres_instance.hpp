// A real PostgreSQL server for tests (Debian's postgresql package, the
// newest /usr/lib/postgresql/<version>/bin), never a mock. Each instance has
// a directory of its own under $TMPDIR (or /tmp) holding the data directory,
// the Unix socket, the server's log and a password file, and listens on
// that socket (trust) and on 127.0.0.1 at a free port (scram-sha-256, the
// password below). The test process owns the postmaster (fork/exec, no
// pg_ctl); it runs as the `postgres` system user when the test runs as
// root, since initdb and postgres refuse root.
//
// The data directory is a copy of a template made once per build tree
// (initdb, about a second, under $EDGEFED_BINARY_DIR/test-postgres/);
// fsync stays on (durability is what the tests check), shared memory is
// small, autovacuum and JIT are off.
//
// The server gets SIGKILL if the test process dies (PR_SET_PDEATHSIG, bound
// to the thread that started it: start instances from the test's thread).
// kill() makes this process a child subreaper (PR_SET_CHILD_SUBREAPER) to
// reap the server's killed children itself.
// Thread safety: none; one owner. Errors: std::runtime_error, with the tail
// of the server's log where there is one.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace edgefed::testing {

class PostgresInstance {
 public:
  // Starts a server and creates `database`, owned by user().
  explicit PostgresInstance(const std::string& database = "edgefed");
  // Stops the server (SIGKILL if it does not stop) and removes the directory.
  ~PostgresInstance();
  PostgresInstance(const PostgresInstance&) = delete;
  PostgresInstance& operator=(const PostgresInstance&) = delete;

  // Fast shutdown (SIGINT), waited for up to 30 s, then SIGKILL and a
  // throw. Nothing if it is not running.
  void stop();
  // A crash: SIGKILL to the postmaster and every process it started, reaped
  // before it returns. Nothing if it is not running.
  void kill();
  // Stops it if running, then starts it on the same data directory and
  // port, and waits until it accepts connections (after kill(): once crash
  // recovery is done). Throws with the log tail after 30 s.
  void restart();
  bool running() const { return pid_ > 0; }

  // libpq connection strings: over TCP (give the password: password_file()
  // or password()), and over the Unix socket (trust, no password).
  std::string conninfo() const;
  std::string socket_conninfo() const;
  const std::string& password() const { return password_; }
  const std::string& password_file() const { return password_file_; }
  const std::string& user() const { return user_; }
  const std::string& database() const { return database_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  // The last bytes of the server's log.
  std::string log_tail(std::size_t max_bytes = 4000) const;

 private:
  void start();
  void setup_database();
  void stop_or_kill(bool may_throw);

  std::string bin_;
  std::string dir_;
  std::string data_;
  std::string log_;
  std::string user_ = "edgefed";
  std::string database_;
  std::string password_;
  std::string password_file_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// The newest /usr/lib/postgresql/<version>/bin that holds initdb and
// postgres. Throws if none does (apt-get install postgresql).
std::string postgres_bin_dir();

}  // namespace edgefed::testing
