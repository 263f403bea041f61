// Runs a binary as a child process with a deadline, for tests that drive the
// real executables (edgefed-sim) end to end.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace edgefed::testing {

// Runs argv (argv[0] a path) with stderr to `log` and stdout dropped; returns
// its exit status, -1 if it died of a signal, -2 if it overran `seconds`
// (then it is SIGKILLed by pid and reaped) or -3 if `log` cannot be opened.
// Callable from several threads at once: everything the child needs is
// prepared before fork(), and the child only calls dup2() and execv().
inline int run_with_deadline(std::vector<std::string> args, const std::string& log, int seconds) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return -3;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    // dup2() clears close-on-exec on the copies, so the child keeps them.
    if (::dup2(log_fd, STDERR_FILENO) < 0 || ::dup2(null_fd, STDOUT_FILENO) < 0) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) return -1;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -2;
}

}  // namespace edgefed::testing
