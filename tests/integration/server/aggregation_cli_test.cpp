// Aggregation options at start-up (docs/aggregation.md): the real binary
// refuses combinations that cannot work, before it listens, with exit code 2
// and a one-line reason that names the flags; sound combinations pass.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "../../support/scratch_dir.hpp"
#include "server_process.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

struct Outcome {
  int code = -1;        // exit status; -2 = still running after the deadline (killed)
  std::string stderr_;  // everything it wrote to stderr
};

// Runs argv with stderr to `err_file`, stdout dropped; SIGKILLs it by pid if
// it has not exited after `seconds` (a server that started serving).
Outcome run_bounded(const std::vector<std::string>& argv, const std::string& err_file, int seconds = 30) {
  Outcome out;
  std::vector<char*> args;  // before fork(): the child must not allocate
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return out;
  if (pid == 0) {
    const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int devnull = open("/dev/null", O_WRONLY);
    if (err >= 0) dup2(err, STDERR_FILENO);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    out.code = -2;
  } else {
    out.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  out.stderr_ = ss.str();
  return out;
}

std::vector<std::string> nonempty_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);)
    if (!l.empty()) lines.push_back(l);
  return lines;
}

}  // namespace

TEST_CASE("the server refuses aggregation combinations that cannot work with a one-line reason",
          "[integration][server][aggregation]") {
  ScratchDir dir("edgefed-aggcli");
  const auto& pki = fleet_pki();
  const std::string port_file = dir.file("port");
  const std::vector<std::string> base = {EDGEFED_SERVER_BIN, "--tls-cert",  pki.server_cert(), "--tls-key",
                                         pki.server_key(),   "--client-ca", pki.ca(),          "--state-dir",
                                         dir.file("state"),  "--listen",    "127.0.0.1:0",     "--port-file",
                                         port_file,          "--model-init", "mlp:16-8-4"};
  struct Case {
    std::vector<std::string> flags;
    std::vector<std::string> reason;  // words the one line must contain
  };
  const std::vector<Case> refused = {
      // multi-Krum scores by the n - f - 2 nearest others: K > 2f + 2.
      {{"--mode", "sync", "--min-updates", "4", "--aggregator", "krum"}, {"--aggregator krum", "--min-updates", "4"}},
      {{"--mode", "async", "--buffer-k", "10", "--aggregator", "krum", "--krum-f", "4"},
       {"--aggregator krum", "--buffer-k", "10"}},
      {{"--mode", "sync", "--min-updates", "12", "--aggregator", "krum", "--krum-f", "4", "--krum-m", "9"},
       {"--krum-m"}},
      // DP noise is calibrated to the clip norm, and to the sensitivity of a sum.
      {{"--dp-noise-multiplier", "1"}, {"--dp-noise-multiplier", "--clip-norm"}},
      {{"--dp-noise-multiplier", "1", "--clip-norm", "1", "--aggregator", "median"},
       {"--dp-noise-multiplier", "fedavg"}},
      {{"--aggregator", "mean-of-whatever"}, {"mean-of-whatever"}},
      {{"--aggregator", "trimmed-mean", "--trim-beta", "0.5"}, {"trim"}},
      {{"--server-optimizer", "adam"}, {"adam"}},
      // Secure aggregation gives the server sums only (docs/secure-aggregation.md).
      {{"--secure-aggregation", "secagg+", "--aggregator", "median"}, {"--aggregator median", "secure-aggregation"}},
      {{"--secure-aggregation", "secagg+", "--aggregator", "krum", "--buffer-k", "10"}, {"--aggregator krum"}},
      {{"--secure-aggregation", "secagg+", "--dp-noise-multiplier", "1"}, {"--dp-noise-multiplier", "--clip-norm"}},
      {{"--secure-aggregation", "secagg+", "--mode", "sync", "--min-updates", "2"},
       {"--min-updates", "--secagg-min-agents"}},
      {{"--secure-aggregation", "secagg"}, {"secagg"}},
  };
  for (const auto& c : refused) {
    auto argv = base;
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    std::string shown;
    for (const auto& f : c.flags) shown += f + " ";
    INFO("flags: " << shown);
    std::filesystem::remove(port_file);
    const Outcome o = run_bounded(argv, dir.file("stderr"));
    INFO("stderr: " << o.stderr_);
    CHECK(o.code == 2);
    CHECK(!std::filesystem::exists(port_file));  // refused before listening
    const auto lines = nonempty_lines(o.stderr_);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("edgefed-server: ", 0) == 0);
    for (const auto& word : c.reason) CHECK(lines[0].find(word) != std::string::npos);
  }

  // The same checks in --check-config (exit 1 there), and sound combinations pass.
  auto check = base;
  check.push_back("--check-config");
  auto krum_small = check;
  krum_small.insert(krum_small.end(), {"--mode", "sync", "--min-updates", "4", "--aggregator", "krum"});
  CHECK(run_bounded(krum_small, dir.file("stderr")).code == 1);
  const std::vector<std::vector<std::string>> sound = {
      {"--mode", "sync", "--min-updates", "11", "--aggregator", "krum", "--krum-f", "4"},
      {"--mode", "sync", "--min-updates", "20", "--aggregator", "krum", "--krum-f", "4", "--krum-m", "16"},
      {"--aggregator", "median", "--clip-norm", "5"},
      {"--aggregator", "trimmed-mean", "--trim-beta", "0.2", "--aggregation-threads", "2"},
      {"--dp-noise-multiplier", "1", "--clip-norm", "1", "--dp-seed", "7"},
      {"--server-optimizer", "fedadam", "--server-beta1", "0.9", "--server-beta2", "0.99", "--server-tau", "0.001"},
      {"--secure-aggregation", "secagg+", "--mode", "sync", "--min-updates", "5", "--secagg-clip", "0.5"},
      {"--secure-aggregation", "secagg+", "--clip-norm", "2", "--dp-noise-multiplier", "0.8"},
  };
  for (const auto& flags : sound) {
    auto argv = check;
    argv.insert(argv.end(), flags.begin(), flags.end());
    const Outcome o = run_bounded(argv, dir.file("stderr"));
    INFO("stderr: " << o.stderr_);
    CHECK(o.code == 0);
  }
}
