// The command line: --help, --check-config, start-up errors (exit 2),
// EDGEFED_* variables, SIGTERM drains in-flight long polls and exits 0.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <future>
#include <thread>

#include "../../support/scratch_dir.hpp"
#include "server_process.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {
std::vector<std::string> base_flags(const Pki& pki, const std::string& state) {
  return {EDGEFED_SERVER_BIN, "--tls-cert", pki.server_cert(), "--tls-key", pki.server_key(),
          "--client-ca",      pki.ca(),     "--state-dir", state};
}
}  // namespace

TEST_CASE("command line: help, check-config, bad input exits 2", "[integration][server]") {
  ScratchDir dir("edgefed-cli");
  const auto& pki = fleet_pki();
  CHECK(run_command({EDGEFED_SERVER_BIN, "--help"}) == 0);
  auto flags = base_flags(pki, dir.file("state"));
  auto check = flags;
  check.push_back("--check-config");
  CHECK(run_command(check) == 0);

  auto bad_mode = check;
  bad_mode.insert(bad_mode.end(), {"--mode", "sometimes"});
  CHECK(run_command(bad_mode) == 1);

  auto missing_cert = std::vector<std::string>{EDGEFED_SERVER_BIN, "--tls-cert", dir.file("nope.pem"),
                                               "--tls-key", pki.server_key(), "--client-ca", pki.ca(),
                                               "--state-dir", dir.file("state"), "--check-config"};
  CHECK(run_command(missing_cert) == 1);

  // EDGEFED_* variables and the config file feed the same options.
  setenv("EDGEFED_MODE", "sometimes", 1);
  CHECK(run_command(check) == 1);
  unsetenv("EDGEFED_MODE");
  {
    std::ofstream(dir.file("server.conf")) << "# test\nmode = sync\nmin-updates = 3\n";
    auto with_config = check;
    with_config.insert(with_config.end(), {"--config", dir.file("server.conf")});
    CHECK(run_command(with_config) == 0);
    std::ofstream(dir.file("bad.conf")) << "mode = sync\nno-such-option = 1\n";
    auto bad_config = check;
    bad_config.insert(bad_config.end(), {"--config", dir.file("bad.conf")});
    CHECK(run_command(bad_config) == 2);
  }
  // --model-init takes a preset or a model spec file, checked at start.
  auto cnn = check;
  cnn.insert(cnn.end(), {"--model-init", "cnn-fmnist"});
  CHECK(run_command(cnn) == 0);
  std::ofstream(dir.file("lstm.json")) << R"({"input":[4],"layers":[{"type":"lstm","out":2}],"loss":"mse"})";
  auto unknown_layer = check;
  unknown_layer.insert(unknown_layer.end(), {"--model-init", dir.file("lstm.json")});
  CHECK(run_command(unknown_layer) == 1);
  auto unknown_preset = flags;
  unknown_preset.insert(unknown_preset.end(), {"--model-init", "resnet50"});
  CHECK(run_command(unknown_preset) == 2);
  CHECK(run_command({EDGEFED_SERVER_BIN, "--no-such-flag"}) == 2);
  auto bad_listen = flags;
  bad_listen.insert(bad_listen.end(), {"--listen", "127.0.0.1:notaport"});
  CHECK(run_command(bad_listen) == 2);
  auto no_ca = std::vector<std::string>{EDGEFED_SERVER_BIN, "--tls-cert", pki.server_cert(), "--tls-key",
                                        pki.server_key(), "--state-dir", dir.file("state")};
  CHECK(run_command(no_ca) == 2);
}

TEST_CASE("SIGTERM answers pending long polls and exits 0", "[integration][server]") {
  ScratchDir dir("edgefed-cli");
  ServerProcess server(fleet_pki(), dir.file("state"), {"--model-init", "mlp:16-8-4"});
  server.start();
  auto poll = std::async(std::launch::async, [&] {
    auto c = server.agent(0);
    return c->get("/v1/model?wait=60&after=0");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(server.terminate() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  auto r = poll.get();
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(server.log().find("\"event\":\"stopped\"") != std::string::npos);
}
