#include "edgefed/options.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace edgefed;

namespace {
Options make() {
  Options o("prog", "test program");
  o.add("state-dir", "/var/lib/x", "where state lives").add("threads", "2", "threads").add_bool("once", false, "one round");
  return o;
}
}  // namespace

TEST_CASE("flags beat the config file, which beats EDGEFED_ variables", "[unit][options]") {
  const auto path = std::filesystem::temp_directory_path() / "edgefed_options_test.conf";
  {
    std::ofstream f(path);
    f << "# comment\nthreads = 4\nstate-dir = \"/from/config\"\n";
  }
  const std::string cfg = "--config=" + path.string();
  SECTION("all three sources") {
    const char* argv[] = {"prog", cfg.c_str(), "--state-dir", "/from/flag"};
    const char* env[] = {"EDGEFED_THREADS=8", "EDGEFED_ONCE=yes", "EDGEFED_UNKNOWN=1", nullptr};
    Options o = make();
    o.parse(4, argv, env);
    CHECK(o.get("state-dir") == "/from/flag");
    CHECK(o.source("state-dir") == "flag");
    CHECK(o.get_int("threads") == 4);
    CHECK(o.source("threads") == "config");
    CHECK(o.get_bool("once"));
    CHECK(o.source("once") == "env");
  }
  SECTION("config file named by the environment") {
    const std::string envcfg = "EDGEFED_CONFIG=" + path.string();
    const char* argv[] = {"prog"};
    const char* env[] = {envcfg.c_str(), nullptr};
    Options o = make();
    o.parse(1, argv, env);
    CHECK(o.get("state-dir") == "/from/config");
  }
  std::filesystem::remove(path);
}

TEST_CASE("defaults, booleans and help", "[unit][options]") {
  const char* argv[] = {"prog", "--once", "--help"};
  Options o = make();
  o.parse(3, argv, nullptr);
  CHECK(o.get_bool("once"));
  CHECK(o.help_requested());
  CHECK(o.get("state-dir") == "/var/lib/x");
  CHECK(o.source("state-dir") == "default");
  const auto help = o.help_text();
  CHECK(help.find("--state-dir") != std::string::npos);
  CHECK(help.find("EDGEFED_STATE_DIR") != std::string::npos);
}

TEST_CASE("bad command lines are ConfigError with a reason", "[unit][options]") {
  using V = std::vector<const char*>;
  auto argv = GENERATE(V{"prog", "--nope", "1"}, V{"prog", "positional"}, V{"prog", "--state-dir"},
                       V{"prog", "--once=maybe"}, V{"prog", "--config=/nonexistent/edgefed.conf"});
  Options o = make();
  CHECK_THROWS_AS(o.parse(static_cast<int>(argv.size()), argv.data(), nullptr), ConfigError);
}

TEST_CASE("typed getters refuse malformed values", "[unit][options]") {
  const char* argv[] = {"prog", "--threads=two"};
  Options o = make();
  o.parse(2, argv, nullptr);
  CHECK_THROWS_AS(o.get_int("threads"), ConfigError);
  CHECK_THROWS_AS(o.get_double("threads"), ConfigError);
}

TEST_CASE("host:port parsing", "[unit][options]") {
  CHECK(parse_host_port("127.0.0.1:8443") == std::pair<std::string, uint16_t>{"127.0.0.1", 8443});
  CHECK(parse_host_port("[::1]:9") == std::pair<std::string, uint16_t>{"::1", 9});
  CHECK_THROWS_AS(parse_host_port("nohost"), ConfigError);
  CHECK_THROWS_AS(parse_host_port("h:99999"), ConfigError);
  CHECK_THROWS_AS(parse_host_port("h:8x"), ConfigError);
}

TEST_CASE("a test-only option is parsed like any other but never shown in --help", "[unit][options]") {
  Options o("prog", "summary");
  o.add("state-dir", "/var/lib/x", "where state lives").add_test_only("attack", "none", "TEST ONLY: hostile");
  const char* argv[] = {"prog", "--attack", "sign-flip"};
  const char* env[] = {nullptr};
  o.parse(3, argv, env);
  CHECK(o.get("attack") == "sign-flip");
  CHECK(o.source("attack") == "flag");
  const auto help = o.help_text();
  CHECK(help.find("--state-dir") != std::string::npos);
  CHECK(help.find("attack") == std::string::npos);
  CHECK(help.find("TEST ONLY") == std::string::npos);
}
