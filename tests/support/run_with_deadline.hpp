// Runs a binary as a child process with a deadline, for tests that drive the
// real executables (edgefed-sim) end to end.
#pragma once

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
// its exit status, -1 if it died of a signal, or -2 if it overran `seconds`
// (then it is SIGKILLed by pid and reaped).
inline int run_with_deadline(std::vector<std::string> args, const std::string& log, int seconds) {
  std::vector<char*> argv;  // built before fork(): the child only execs
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    f = std::freopen("/dev/null", "w", stdout);
    (void)f;
    execv(argv[0], argv.data());
    _exit(127);
  }
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
