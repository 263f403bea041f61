#include <sys/stat.h>

#include <cstdlib>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/loop/agent_options.hpp"
#include "scratch_dir.hpp"

using namespace edgefed::agent;
using edgefed::ConfigError;
using edgefed::Options;

namespace {

// A self-signed certificate with the given subject, via the openssl CLI.
void make_cert(const edgefed::testing::ScratchDir& dir, const std::string& name,
               const std::string& subject) {
  const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1"
                          " -keyout " + dir.file(name + ".key") + " -out " + dir.file(name + ".pem") +
                          " -subj '" + subject + "' 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  ::chmod(dir.file(name + ".key").c_str(), 0600);
}

AgentConfig parse(std::vector<std::string> args, std::vector<std::string> env = {}) {
  std::vector<const char*> argv{"edgefed-agent"};
  for (auto& a : args) argv.push_back(a.c_str());
  std::vector<const char*> envp;
  for (auto& e : env) envp.push_back(e.c_str());
  envp.push_back(nullptr);
  AgentCommandLine command_line;
  Options o = make_agent_options(command_line);
  o.parse(static_cast<int>(argv.size()), argv.data(), envp.data());
  finish_agent_config(command_line, envp.data());
  return command_line.config;
}

}  // namespace

TEST_CASE("agent options: flags, environment, agent id from the certificate CN", "[unit]") {
  edgefed::testing::ScratchDir dir;
  make_cert(dir, "a7", "/OU=agent/CN=agent-7");
  make_cert(dir, "nocn", "/O=edgefed");
  const std::vector<std::string> base = {
      "--server", "https://127.0.0.1:8443", "--ca", dir.file("a7.pem"), "--cert", dir.file("a7.pem"),
      "--key", dir.file("a7.key"), "--data", "csv:/x.csv", "--state-dir", dir.file("state")};

  AgentConfig c = parse(base, {"EDGEFED_OUTBOX_MAX_UPDATES=7", "NODE_NAME=node-1"});
  CHECK(c.agent_id == "agent-7");  // the CN beats NODE_NAME
  CHECK(c.link.server_url == "https://127.0.0.1:8443");
  CHECK(c.outbox_limits.max_updates == 7);
  CHECK(c.outbox_limits.max_bytes == 64ll << 20);
  CHECK(c.link.backoff.max_ms == 30000);
  REQUIRE_NOTHROW(check_agent_config(c));

  auto args = base;
  args.insert(args.end(), {"--agent-id", "explicit-1", "--backoff-max-ms", "9000", "--outbox-fsync=false"});
  c = parse(args);
  CHECK(c.agent_id == "explicit-1");
  CHECK(c.link.backoff.max_ms == 9000);
  CHECK_FALSE(c.outbox_full_sync);
  CHECK(c.attack.kind == Attack::Kind::kNone);  // the test seam is off by default
  AgentCommandLine defaults;
  CHECK(make_agent_options(defaults).help_text().find("attack") == std::string::npos);  // and not shown to users
  CHECK(parse(base, {"EDGEFED_ATTACK=scale:10"}).attack.kind == Attack::Kind::kScale);
  args = base;
  args.insert(args.end(), {"--attack", "sign-flip"});
  CHECK(parse(args).attack.kind == Attack::Kind::kSignFlip);
  args.back() = "scale:ten";
  CHECK_THROWS_AS(parse(args), ConfigError);

  // The device class: the CPU architecture unless given; a bad name is refused.
  CHECK_FALSE(parse(base).device_class.empty());
  CHECK(parse(base, {"EDGEFED_DEVICE_CLASS=pi4-camera"}).device_class == "pi4-camera");
  args = base;
  args.insert(args.end(), {"--device-class", "jetson.nano_2"});
  CHECK(parse(args).device_class == "jetson.nano_2");
  args.back() = "two words";
  CHECK_THROWS_WITH(parse(args), Catch::Contains("--device-class"));

  args = base;
  args[5] = dir.file("nocn.pem");
  args[7] = dir.file("nocn.key");
  CHECK(parse(args, {"NODE_NAME=node-1"}).agent_id == "node-1");
  CHECK_THROWS_AS(parse(args), ConfigError);  // no CN, no NODE_NAME
}

TEST_CASE("agent options: bad values are one-line ConfigErrors", "[unit]") {
  edgefed::testing::ScratchDir dir;
  make_cert(dir, "a7", "/CN=agent-7");
  const std::vector<std::string> base = {
      "--server", "https://127.0.0.1:8443", "--ca", dir.file("a7.pem"), "--cert", dir.file("a7.pem"),
      "--key", dir.file("a7.key"), "--data", "csv:/x.csv", "--state-dir", dir.file("state")};
  auto [flag, value] = GENERATE(table<std::string, std::string>({
      {"--server", "http://127.0.0.1:8443"},
      {"--server", "https://127.0.0.1"},
      {"--backoff-initial-ms", "0"},
      {"--backoff-jitter", "2"},
      {"--backoff-multiplier", "x"},
      {"--outbox-max-updates", "0"},
      {"--telemetry-batch", "5000"},
      {"--agent-id", "bad/id"},
      {"--log-level", "verbose"},
      {"--connect-timeout-ms", "0"},
      {"--outbox-max-mb", "0"},
      {"--cert", "/no/such/cert.pem"},
  }));
  auto args = base;
  args.insert(args.end(), {flag, value});
  std::string message;
  try {
    parse(args);
  } catch (const ConfigError& e) {
    message = e.what();
  }
  INFO(flag << " " << value);
  CHECK_FALSE(message.empty());
  CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("agent options: the table's defaults are the config's, and fill it", "[unit]") {
  edgefed::testing::ScratchDir dir;
  make_cert(dir, "a7", "/CN=agent-7");
  AgentCommandLine command_line;
  Options o = make_agent_options(command_line);
  const AgentConfig defaults;
  const std::string help = o.help_text();
  CHECK(help.find("--outbox-max-mb VALUE\n") != std::string::npos);
  CHECK(help.find("default: " + std::to_string(defaults.link.backoff.max_ms) + ";") != std::string::npos);
  CHECK(help.find("--log-level debug|info|warn|error\n") != std::string::npos);
  const std::vector<std::string> args = {"edgefed-agent", "--server", "https://127.0.0.1:8443", "--ca", dir.file("a7.pem"),
                                         "--cert", dir.file("a7.pem"), "--key", dir.file("a7.key"), "--data", "csv:/x.csv",
                                         "--state-dir", dir.file("state"), "--log-level", "debug", "--once",
                                         "--outbox-max-mb", "3", "--request-timeout-ms", "1234", "--telemetry-batch", "7"};
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  o.parse(static_cast<int>(argv.size()), argv.data(), nullptr);
  finish_agent_config(command_line, nullptr);
  CHECK(command_line.log_level == edgefed::log::Level::kDebug);
  CHECK(command_line.once);
  CHECK_FALSE(command_line.check_config);
  const AgentConfig& c = command_line.config;
  CHECK(c.outbox_limits.max_bytes == 3ll << 20);
  CHECK(c.link.request_timeout == std::chrono::milliseconds(1234));
  CHECK(c.forward.telemetry_batch == 7);
  CHECK(c.link.connect_timeout == defaults.link.connect_timeout);
  CHECK(c.outbox_limits.max_updates == defaults.outbox_limits.max_updates);
  CHECK(c.idle_ms == defaults.idle_ms);
}

TEST_CASE("agent options: required flags and deep checks", "[unit]") {
  edgefed::testing::ScratchDir dir;
  make_cert(dir, "a7", "/CN=agent-7");
  CHECK_THROWS_AS(parse({"--server", "https://h:1"}), ConfigError);
  AgentConfig c = parse({"--server", "https://127.0.0.1:8443", "--ca", dir.file("a7.pem"), "--cert",
                         dir.file("a7.pem"), "--key", dir.file("a7.key"), "--data", "nope:x",
                         "--state-dir", dir.file("s")});
  CHECK_THROWS_AS(check_agent_config(c), ConfigError);  // bad data spec
  ::chmod(dir.file("a7.key").c_str(), 0644);
  c.data_spec = "csv:/x.csv";
  CHECK_THROWS_AS(check_agent_config(c), ConfigError);  // key readable by others
}
