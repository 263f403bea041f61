#include "shared_pki.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>

namespace edgefed::testing {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int run_command(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // Only async-signal-safe calls in the child of a threaded process.
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string shared_pki_dir(const std::string& name, const std::vector<std::vector<std::string>>& steps) {
  // The key: what the PKI is made with (the script, the steps) and the UTC
  // day, so that a build tree kept for days never serves certificates or a
  // CRL near their end.
  const std::string tool = std::string(EDGEFED_SOURCE_DIR) + "/deploy/certs/edgefed-certs";
  std::string recipe = read_text(tool);
  for (const auto& step : steps)
    for (const auto& a : step) recipe += "\n" + a;
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char day[16];
  std::strftime(day, sizeof day, "%Y%m%d", &utc);
  char key[64];
  std::snprintf(key, sizeof key, "-%s-%016zx", day, std::hash<std::string>{}(recipe));
  const std::string parent = std::string(EDGEFED_BINARY_DIR) + "/test-pki";
  const std::string dir = parent + "/" + name + key;
  if (std::filesystem::exists(dir + "/ca.pem")) return dir;

  std::filesystem::create_directories(parent);
  std::string tmp = parent + "/." + name + "-XXXXXX";
  if (!mkdtemp(tmp.data())) throw std::runtime_error("mkdtemp under " + parent + " failed");
  const std::string out = tmp + "/pki";
  for (const auto& step : steps) {
    std::vector<std::string> argv = {tool};
    for (const auto& a : step) argv.push_back(a == "{dir}" ? out : a);
    const int rc = run_command(argv);
    if (rc != 0) {
      std::error_code ec;
      std::filesystem::remove_all(tmp, ec);
      throw std::runtime_error("edgefed-certs " + step.at(0) + " failed with " + std::to_string(rc));
    }
  }
  // rename() is atomic: another test process either finds the finished
  // directory or none; if one got there first, its PKI is used and ours goes.
  if (std::rename(out.c_str(), dir.c_str()) != 0 && !std::filesystem::exists(dir + "/ca.pem"))
    throw std::runtime_error("cannot move the test PKI to " + dir);
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  return dir;
}

}  // namespace edgefed::testing
