#include "server/process/server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace edgefed::server {
namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// The last `lines` lines of the log, for error messages.
constexpr size_t kErrorLogLines = 20;

}  // namespace

ServerProcess::ServerProcess(ServerProcessOptions options) : options_(std::move(options)) {
  if (options_.port_file.empty()) options_.port_file = options_.state_dir + ".port";
  if (options_.log_file.empty()) options_.log_file = options_.state_dir + ".log";
}

ServerProcess::~ServerProcess() { (void)stop(); }

Status ServerProcess::start() { return spawn(options_.port); }

Status ServerProcess::crash_and_restart() {
  kill();
  return spawn(port_);
}

Status ServerProcess::spawn(uint16_t port) {
  if (running()) return Status(Code::kInvalidArgument, "edgefed-server is running already (pid " +
                                                           std::to_string(pid_) + ")");
  // The server makes its state directory itself (mode 0700); only the port
  // file's folder must exist beforehand.
  std::error_code ec;
  const auto port_dir = std::filesystem::path(options_.port_file).parent_path();
  if (!port_dir.empty()) std::filesystem::create_directories(port_dir, ec);
  std::filesystem::remove(options_.port_file, ec);
  std::vector<std::string> argv = {options_.bin, "--listen=" + options_.listen_host + ":" + std::to_string(port),
                                   "--port-file=" + options_.port_file, "--state-dir=" + options_.state_dir};
  if (!options_.tls_cert.empty()) argv.push_back("--tls-cert=" + options_.tls_cert);
  if (!options_.tls_key.empty()) argv.push_back("--tls-key=" + options_.tls_key);
  if (!options_.client_ca.empty()) argv.push_back("--client-ca=" + options_.client_ca);
  argv.insert(argv.end(), options_.args.begin(), options_.args.end());
  // Built before fork(): the child of a threaded process may only make
  // async-signal-safe calls (another thread may hold the allocator's lock).
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  const int log_fd = ::open(options_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return Status(Code::kIo, "cannot open " + options_.log_file);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return Status(Code::kIo, "fork failed");
  }
  if (pid == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;

  const auto deadline = after(options_.start_timeout_s);
  while (Clock::now() < deadline) {
    std::ifstream in(options_.port_file);
    int bound = 0;
    if (in >> bound && bound > 0 && bound < 65536) {
      port_ = static_cast<uint16_t>(bound);
      ++starts_;
      return Status::ok();
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status(Code::kUnavailable, "edgefed-server exited during start-up:\n" + log_tail(kErrorLogLines));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill();
  std::ostringstream why;
  why << "edgefed-server did not write its port file within " << options_.start_timeout_s << " s:\n"
      << log_tail(kErrorLogLines);
  return Status(Code::kUnavailable, why.str());
}

bool ServerProcess::wait_exit(double timeout_s, int* status) {
  const auto deadline = after(timeout_s);
  for (;;) {
    const pid_t r = ::waitpid(pid_, status, WNOHANG);
    if (r == pid_ || r < 0) {
      pid_ = -1;
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::optional<int> ServerProcess::sigterm_and_wait(double timeout_s) {
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (wait_exit(timeout_s, &status)) return status;
  kill();
  return std::nullopt;
}

int ServerProcess::terminate(double timeout_s) {
  if (!running()) return -1;
  const auto status = sigterm_and_wait(timeout_s);
  if (!status) return -1;
  if (WIFEXITED(*status)) return WEXITSTATUS(*status);
  if (WIFSIGNALED(*status)) return 128 + WTERMSIG(*status);
  return -1;
}

Status ServerProcess::stop(double timeout_s) {
  if (!running()) return Status::ok();
  const auto status = sigterm_and_wait(timeout_s);
  std::ostringstream why;
  if (!status) why << "edgefed-server ignored SIGTERM for " << timeout_s << " s; killed";
  else if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return Status::ok();
  else if (WIFEXITED(*status)) why << "edgefed-server stopped with exit code " << WEXITSTATUS(*status);
  else if (WIFSIGNALED(*status)) why << "edgefed-server stopped with signal " << WTERMSIG(*status);
  return Status(Code::kInternal, why.str());
}

void ServerProcess::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServerProcess::log() const {
  std::ifstream in(options_.log_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ServerProcess::log_tail(size_t lines) const {
  std::ifstream in(options_.log_file);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += l + "\n";
  return out;
}

uint16_t ServerProcess::metrics_port() const {
  const std::string text = log();
  const std::string key = "\"metrics_port\":";
  const auto at = text.rfind(key);
  if (at == std::string::npos) return 0;
  return static_cast<uint16_t>(std::atoi(text.c_str() + at + key.size()));
}

}  // namespace edgefed::server
