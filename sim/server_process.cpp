#include "server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace edgefed::sim {
namespace fs = std::filesystem;
namespace {

// Waits up to `seconds` for the child to exit; true if it did.
bool wait_exit(pid_t pid, double seconds, int* status) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || r < 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<ServerProcess>> ServerProcess::start(ServerProcessOptions options) {
  std::unique_ptr<ServerProcess> p(new ServerProcess(std::move(options)));
  EDGEFED_RETURN_IF_ERROR(p->spawn(0));
  return p;
}

ServerProcess::~ServerProcess() { (void)stop(); }

std::string ServerProcess::log_tail() const {
  std::ifstream in(options_.log_file);
  std::string line, last;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  for (size_t i = lines.size() > 5 ? lines.size() - 5 : 0; i < lines.size(); ++i) last += lines[i] + "\n";
  return last;
}

Status ServerProcess::spawn(uint16_t port) {
  const std::string port_file = options_.state_dir + "/port";
  std::error_code ec;
  fs::create_directories(options_.state_dir, ec);
  fs::remove(port_file, ec);
  const std::string c = options_.certs_dir;
  std::vector<std::string> args = {
      options_.bin,
      "--listen=127.0.0.1:" + std::to_string(port),
      "--tls-cert=" + c + "/server.pem",
      "--tls-key=" + c + "/server.key",
      "--client-ca=" + c + "/ca.pem",
      "--state-dir=" + options_.state_dir,
      "--mode=" + std::string(enum_name(options_.mode)),
      "--model-init=" + options_.model,
      "--threads=" + std::to_string(options_.threads),
      "--port-file=" + port_file,
  };
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

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
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;

  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.start_timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status(Code::kUnavailable, "edgefed-server exited at start:\n" + log_tail());
    }
    std::ifstream in(port_file);
    int p = 0;
    if (in >> p && p > 0) {
      port_ = static_cast<uint16_t>(p);
      return Status::ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  (void)stop();
  return Status(Code::kUnavailable, "edgefed-server did not listen in time:\n" + log_tail());
}

Status ServerProcess::crash_and_restart() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    wait_exit(pid_, 30, &status);
    pid_ = -1;
  }
  ++restarts_;
  return spawn(port_);
}

Status ServerProcess::stop() {
  if (pid_ <= 0) return Status::ok();
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (!wait_exit(pid_, 30, &status)) {
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, 10, &status);
    pid_ = -1;
    return Status(Code::kUnavailable, "edgefed-server ignored SIGTERM for 30 s; killed");
  }
  pid_ = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::ok();
  std::ostringstream why;
  if (WIFEXITED(status)) why << "exit code " << WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) why << "signal " << WTERMSIG(status);
  return Status(Code::kInternal, "edgefed-server stopped with " + why.str());
}

}  // namespace edgefed::sim
