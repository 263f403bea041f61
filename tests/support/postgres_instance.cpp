#include "postgres_instance.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace edgefed::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr auto kInitdbTimeout = std::chrono::seconds(120);
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(30);
constexpr auto kReapTimeout = std::chrono::seconds(10);

// Local connections need no password; TCP ones need the instance's.
constexpr const char* kHba =
    "local all all trust\n"
    "host all all 127.0.0.1/32 scram-sha-256\n";

// Who runs initdb and postgres: this process, or (as root) `postgres`.
struct Identity {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

Identity server_identity() {
  if (geteuid() != 0) return {};
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r("postgres", &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    throw std::runtime_error(
        "postgres: running as root, which initdb and postgres refuse, and there is no 'postgres' user to run them "
        "as (the postgresql package creates it: deploy/install-deps.sh)");
  }
  return {true, pw.pw_uid, pw.pw_gid};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string tail_of(const std::string& path, std::size_t max_bytes) {
  std::string text = read_text(path);
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text.empty() ? "(empty)" : text;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// A conninfo value in single quotes.
std::string conninfo_value(const std::string& value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string random_hex(std::size_t n) {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += kHex[rd() % 16];
  return out;
}

// Every folder of `path` can be searched by anyone (the server user must
// reach its directory).
bool world_searchable(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::canonical(path, ec);
  if (ec) return false;
  for (; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) return false;
    if (p == p.root_path()) break;
  }
  return true;
}

// $TMPDIR (or /tmp): the socket's path (<base>/edgefed-pg-XXXXXX/.s.PGSQL.N)
// must stay within the 107 bytes of sun_path, and the server user must
// reach it.
std::string temp_base(const Identity& id) {
  const char* env = std::getenv("TMPDIR");
  std::string base = env != nullptr && *env != '\0' ? env : "/tmp";
  if (base.size() > 64 || (id.drop && !world_searchable(base))) base = "/tmp";
  return base;
}

std::string make_temp_dir(const std::string& parent, const std::string& prefix) {
  std::string tmpl = parent + "/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("postgres: mkdtemp " + tmpl + ": " + std::strerror(errno));
  return tmpl;
}

void chown_tree(const std::string& root, const Identity& id) {
  if (!id.drop) return;
  if (::lchown(root.c_str(), id.uid, id.gid) != 0)
    throw std::runtime_error("postgres: chown " + root + ": " + std::strerror(errno));
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (::lchown(entry.path().c_str(), id.uid, id.gid) != 0)
      throw std::runtime_error("postgres: chown " + entry.path().string() + ": " + std::strerror(errno));
  }
}

void write_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("postgres: cannot write " + path + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("postgres: cannot write " + path);
}

// Runs argv (no shell) as `id`, in `cwd`, with standard output and error
// appended to `log`, a minimal environment and no other inherited file
// descriptor. SIGKILL reaches it when this thread's process dies.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& cwd, const Identity& id) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> env_text = {"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC", "HOME=" + cwd};
  std::vector<char*> env;
  for (const auto& e : env_text) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) throw std::runtime_error("postgres: cannot open " + log + ": " + std::strerror(errno));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls in the child of a threaded process.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < 32; ++s) {
      if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    }
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    if (close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 4096; ++fd) close(fd);
    }
    if (id.drop && (setgroups(1, &id.gid) != 0 || setgid(id.gid) != 0 || setuid(id.uid) != 0)) {
      static constexpr char kMsg[] = "edgefed test support: cannot switch to the postgres user\n";
      (void)!write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
      _exit(126);
    }
    // After setuid, which clears it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execve(args[0], args.data(), env.data());
    static constexpr char kMsg[] = "edgefed test support: exec failed\n";
    (void)!write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    _exit(127);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) throw std::runtime_error("postgres: fork: " + std::string(std::strerror(fork_errno)));
  return pid;
}

// Waits up to `timeout` for `pid` to exit: true (and its status) if it did.
bool wait_exit(pid_t pid, Clock::duration timeout, int* status) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {
      *status = 0;
      return true;  // not our child (any more): nothing to wait for
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// /proc/<pid>/stat: the state letter and the parent pid; false if gone.
bool proc_stat(pid_t pid, char* state, pid_t* ppid) {
  const std::string text = read_text("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t close = text.rfind(')');  // the command name may hold anything
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 1));
  long parent = 0;
  if (!(rest >> *state >> parent)) return false;
  *ppid = static_cast<pid_t>(parent);
  return true;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    char state = 0;
    pid_t ppid = 0;
    if (proc_stat(pid, &state, &ppid) && ppid == parent) out.push_back(pid);
  }
  return out;
}

// Gone, or a zombie of someone else's.
bool exited(pid_t pid) {
  char state = 0;
  pid_t ppid = 0;
  return !proc_stat(pid, &state, &ppid) || state == 'Z';
}

// A killed server leaves its System V interlock segment behind (the key
// and id are on line 7 of postmaster.pid); a restart would find and drop
// it, a removed directory would not. Only a segment that `postmaster`
// made and nobody uses any more goes.
void remove_stale_shared_memory(const std::string& data_dir, pid_t postmaster) {
  std::ifstream in(data_dir + "/postmaster.pid");
  std::string line;
  for (int i = 0; i < 7 && std::getline(in, line); ++i) {
    if (i < 6) continue;
    std::istringstream fields(line);
    long key = 0;
    long id = -1;
    shmid_ds ds{};
    if (fields >> key >> id && id >= 0 && ::shmctl(static_cast<int>(id), IPC_STAT, &ds) == 0 &&
        ds.shm_cpid == postmaster && ds.shm_nattch == 0)
      ::shmctl(static_cast<int>(id), IPC_RMID, nullptr);
  }
}

// A free TCP port on 127.0.0.1 (free when asked: the server binds it
// moments later; a start that loses the race is retried on another).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("postgres: socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("postgres: no free port on 127.0.0.1: " + std::string(std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The data directory every instance starts from: initdb once per build
// tree and server binary, kept under $EDGEFED_BINARY_DIR/test-postgres/.
// Safe when several processes ask at once (each makes its own and renames
// it into place; the first one wins).
std::string template_data_dir(const std::string& bin, const Identity& id, const std::string& user) {
  struct stat st {};
  if (::stat((bin + "/postgres").c_str(), &st) != 0)
    throw std::runtime_error("postgres: " + bin + "/postgres: " + std::strerror(errno));
  const std::vector<std::string> initdb_args = {"-U", user, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
                                                "--no-instructions"};
  std::string recipe = bin + "\n" + std::to_string(st.st_size) + "\n" + std::to_string(st.st_mtime) + "\n" + kHba;
  for (const auto& a : initdb_args) recipe += "\n" + a;
  char key[32];
  std::snprintf(key, sizeof key, "%016zx", std::hash<std::string>{}(recipe));
  const std::string parent = std::string(EDGEFED_BINARY_DIR) + "/test-postgres";
  const std::string dir = parent + "/template-" + key;
  if (fs::exists(dir + "/PG_VERSION")) return dir;

  // initdb runs as the server user, in a folder of its own under /tmp (it
  // may not be able to reach the build tree).
  const std::string scratch = make_temp_dir(temp_base(id), "edgefed-initdb");
  std::string tmp;
  try {
    chown_tree(scratch, id);
    const std::string data = scratch + "/data";
    const std::string log = scratch + "/initdb.log";
    std::vector<std::string> argv = {bin + "/initdb", "-D", data};
    argv.insert(argv.end(), initdb_args.begin(), initdb_args.end());
    const pid_t pid = spawn(argv, log, scratch, id);
    int status = 0;
    if (!wait_exit(pid, kInitdbTimeout, &status)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      throw std::runtime_error("postgres: initdb did not finish within 120 s; its log:\n" + tail_of(log, 4000));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("postgres: initdb failed (" + describe_wait_status(status) + "); its log:\n" +
                               tail_of(log, 4000));
    }
    write_file(data + "/pg_hba.conf", kHba);
    fs::create_directories(parent);
    tmp = make_temp_dir(parent, ".template");
    fs::copy(data, tmp + "/data", fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    // rename() is atomic: another process finds the finished copy or none.
    if (std::rename((tmp + "/data").c_str(), dir.c_str()) != 0 && !fs::exists(dir + "/PG_VERSION"))
      throw std::runtime_error("postgres: cannot move the template data directory to " + dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(scratch, ec);
    if (!tmp.empty()) fs::remove_all(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);
  fs::remove_all(tmp, ec);
  return dir;
}

}  // namespace

std::string postgres_bin_dir() {
  const fs::path root = "/usr/lib/postgresql";
  std::string best;
  long best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    char* end = nullptr;
    const long version = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0') continue;
    const fs::path bin = entry.path() / "bin";
    if (version > best_version && fs::exists(bin / "initdb") && fs::exists(bin / "postgres")) {
      best_version = version;
      best = bin.string();
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "postgres: no /usr/lib/postgresql/<version>/bin with initdb and postgres (apt-get install postgresql, or "
        "deploy/install-deps.sh)");
  }
  return best;
}

PostgresInstance::PostgresInstance(const std::string& database) : database_(database) {
  if (database.empty() || !std::all_of(database.begin(), database.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      })) {
    throw std::invalid_argument("postgres: database name '" + database + "': use [a-z0-9_]");
  }
  bin_ = postgres_bin_dir();
  const Identity id = server_identity();
  const std::string tmpl = template_data_dir(bin_, id, user_);
  dir_ = make_temp_dir(temp_base(id), "edgefed-pg");
  data_ = dir_ + "/data";
  log_ = dir_ + "/postgres.log";
  password_file_ = dir_ + "/password";
  try {
    fs::copy(tmpl, data_, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::permissions(data_, fs::perms::owner_all, fs::perm_options::replace);
    password_ = random_hex(24);
    write_file(password_file_, password_ + "\n");
    chown_tree(dir_, id);
    // A port taken between free_port() and the server's bind: another one.
    for (int attempt = 1;; ++attempt) {
      port_ = free_port();
      try {
        start();
        break;
      } catch (const std::runtime_error&) {
        if (attempt >= 3 || read_text(log_).find("could not bind") == std::string::npos) throw;
      }
    }
    setup_database();
  } catch (...) {
    try {
      stop_or_kill(false);
    } catch (...) {
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

PostgresInstance::~PostgresInstance() {
  try {
    stop_or_kill(false);
  } catch (...) {
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PostgresInstance::start() {
  const std::vector<std::string> argv = {
      bin_ + "/postgres",
      "-D", data_,
      "-p", std::to_string(port_),
      "-k", dir_,
      "-c", "listen_addresses=127.0.0.1",
      "-c", "fsync=on",
      "-c", "shared_buffers=16MB",
      "-c", "max_connections=40",
      "-c", "huge_pages=off",
      // In the data directory: removed with it, even after a kill.
      "-c", "dynamic_shared_memory_type=mmap",
      "-c", "autovacuum=off",
      "-c", "jit=off",
      "-c", "max_parallel_workers_per_gather=0",
      "-c", "logging_collector=off",
      "-c", "log_line_prefix=%m [%p] ",
      "-c", "lc_messages=C",
      "-c", "TimeZone=UTC",
  };
  pid_ = spawn(argv, log_, dir_, server_identity());
  const std::string ping = "host=" + conninfo_value(dir_) + " port=" + std::to_string(port_) +
                           " dbname=postgres user=" + user_ + " connect_timeout=5";
  const auto deadline = Clock::now() + kStartTimeout;
  while (true) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("postgres: the server exited while starting (" + describe_wait_status(status) +
                               "); its log:\n" + log_tail());
    }
    if (PQping(ping.c_str()) == PQPING_OK) return;
    if (Clock::now() >= deadline) {
      const std::string tail = log_tail();
      try {
        stop_or_kill(false);
      } catch (const std::runtime_error&) {
      }
      throw std::runtime_error("postgres: the server did not accept connections within 30 s; its log:\n" + tail);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void PostgresInstance::setup_database() {
  const std::string info =
      "host=" + conninfo_value(dir_) + " port=" + std::to_string(port_) + " dbname=postgres user=" + user_;
  PGconn* conn = PQconnectdb(info.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = std::string("connect: ") + PQerrorMessage(conn);
  } else {
    for (const std::string& sql : {"ALTER ROLE " + user_ + " PASSWORD '" + password_ + "'",
                                  "CREATE DATABASE " + database_ + " OWNER " + user_}) {
      PGresult* res = PQexec(conn, sql.c_str());
      if (PQresultStatus(res) != PGRES_COMMAND_OK) error = sql.substr(0, 20) + "...: " + PQresultErrorMessage(res);
      PQclear(res);
      if (!error.empty()) break;
    }
  }
  PQfinish(conn);
  if (!error.empty()) throw std::runtime_error("postgres: setting up the database: " + error + "; log:\n" + log_tail());
}

void PostgresInstance::stop() { stop_or_kill(true); }

void PostgresInstance::stop_or_kill(bool may_throw) {
  if (pid_ <= 0) return;
  const pid_t pid = pid_;
  ::kill(pid, SIGINT);  // fast shutdown: end sessions, checkpoint, exit
  int status = 0;
  if (wait_exit(pid, kStopTimeout, &status)) {
    pid_ = -1;
    return;
  }
  const std::string tail = log_tail();
  kill();
  if (may_throw) {
    throw std::runtime_error("postgres: the server (pid " + std::to_string(pid) +
                             ") did not stop within 30 s of SIGINT and was killed; its log:\n" + tail);
  }
}

void PostgresInstance::kill() {
  if (pid_ <= 0) return;
  const pid_t pid = pid_;
  // The postmaster's children become ours when it dies, to be reaped here
  // rather than left to an init that may not.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Stopped first, so that it starts no process while its children go.
  ::kill(pid, SIGSTOP);
  const std::vector<pid_t> children = children_of(pid);
  for (const pid_t c : children) ::kill(c, SIGKILL);
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  const auto deadline = Clock::now() + kReapTimeout;
  for (const pid_t c : children) {
    while (true) {
      const pid_t r = ::waitpid(c, &status, WNOHANG);
      if (r == c || (r < 0 && errno == ECHILD && exited(c))) break;
      if (Clock::now() >= deadline) {
        throw std::runtime_error("postgres: server process " + std::to_string(c) +
                                 " still runs 10 s after SIGKILL");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  remove_stale_shared_memory(data_, pid);
}

void PostgresInstance::restart() {
  stop();
  start();
}

std::string PostgresInstance::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + database_ + " user=" + user_;
}

std::string PostgresInstance::socket_conninfo() const {
  return "host=" + conninfo_value(dir_) + " port=" + std::to_string(port_) + " dbname=" + database_ + " user=" + user_;
}

std::string PostgresInstance::log_tail(std::size_t max_bytes) const { return tail_of(log_, max_bytes); }

}  // namespace edgefed::testing
