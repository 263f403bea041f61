#include "edgefed/options.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "edgefed/enum_names.hpp"

using namespace edgefed;

namespace {

enum class Colour { kRed, kGreen, kBlue };
inline constexpr EnumName<Colour> kColourNames[] = {
    {Colour::kRed, "red"}, {Colour::kGreen, "green"}, {Colour::kBlue, "blue"}};
constexpr std::span<const EnumName<Colour>> enum_names(Colour) { return kColourNames; }

// What a binary's table fills; the initial values are the defaults.
struct Config {
  std::string state_dir = "/var/lib/x";
  int64_t threads = 2;
  bool once = false;
  double rate = 0.25;
  int workers = 4;
  uint64_t seed = 7;
  Colour colour = Colour::kGreen;
  std::chrono::milliseconds timeout{1500};
  std::string attack = "none";
  std::pair<std::string, uint16_t> listen{"0.0.0.0", 8443};
};

Options make(Config& c) {
  Options o("prog", "test program");
  o.bind("state-dir", &c.state_dir, "where state lives");
  o.bind("threads", &c.threads, "threads").at_least(1);
  o.bind("once", &c.once, "one round");
  o.bind("rate", &c.rate, "a rate").above(0);
  o.bind("workers", &c.workers, "workers").in(1, 256);
  o.bind("seed", &c.seed, "a seed");
  o.bind("colour", &c.colour, "a colour");
  o.bind("timeout-ms", &c.timeout, "a timeout").at_least(1);
  o.bind("attack", &c.attack, "TEST ONLY: hostile").test_only();
  o.bind_text("listen", "0.0.0.0:8443", "HOST:PORT", [&c](const std::string& v) { c.listen = parse_host_port(v); });
  return o;
}

// The ConfigError message of parsing argv, "" if it parses.
std::string error_of(std::vector<const char*> argv, Config& c) {
  argv.insert(argv.begin(), "prog");
  Options o = make(c);
  try {
    o.parse(static_cast<int>(argv.size()), argv.data(), nullptr);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("flags beat the config file, which beats EDGEFED_ variables", "[unit][options]") {
  const auto path = std::filesystem::temp_directory_path() / "edgefed_options_test.conf";
  {
    std::ofstream f(path);
    f << "# comment\nthreads = 4\nstate-dir = \"/from/config\"\ncolour = blue\n";
  }
  const std::string cfg = "--config=" + path.string();
  SECTION("all three sources") {
    const char* argv[] = {"prog", cfg.c_str(), "--state-dir", "/from/flag"};
    const char* env[] = {"EDGEFED_THREADS=8", "EDGEFED_ONCE=yes", "EDGEFED_UNKNOWN=1", "EDGEFED_TIMEOUT_MS=250",
                         nullptr};
    Config c;
    Options o = make(c);
    o.parse(4, argv, env);
    CHECK(c.state_dir == "/from/flag");
    CHECK(o.source("state-dir") == "flag");
    CHECK(c.threads == 4);
    CHECK(o.source("threads") == "config");
    CHECK(c.once);
    CHECK(o.source("once") == "env");
    CHECK(c.colour == Colour::kBlue);
    CHECK(c.timeout == std::chrono::milliseconds(250));
    CHECK(c.rate == 0.25);  // the default, untouched
    CHECK(o.source("rate") == "default");
    CHECK(o.values().at("threads") == "4");
  }
  SECTION("config file named by the environment") {
    const std::string envcfg = "EDGEFED_CONFIG=" + path.string();
    const char* argv[] = {"prog"};
    const char* env[] = {envcfg.c_str(), nullptr};
    Config c;
    Options o = make(c);
    o.parse(1, argv, env);
    CHECK(c.state_dir == "/from/config");
  }
  std::filesystem::remove(path);
}

TEST_CASE("defaults come from the bound fields; help shows them, the choices and the variables",
          "[unit][options]") {
  const char* argv[] = {"prog", "--once", "--help", "--listen=[::1]:9"};
  Config c;
  c.rate = 0.5;  // a default set before the table is built is the default shown
  Options o = make(c);
  o.parse(4, argv, nullptr);
  CHECK(c.once);
  CHECK(o.help_requested());
  CHECK(c.state_dir == "/var/lib/x");
  CHECK(o.source("state-dir") == "default");
  CHECK(c.listen == std::pair<std::string, uint16_t>{"::1", 9});
  const auto help = o.help_text();
  CHECK(help.find("--state-dir VALUE\n      where state lives\n      default: /var/lib/x; environment: "
                  "EDGEFED_STATE_DIR\n") != std::string::npos);
  CHECK(help.find("--colour red|green|blue\n") != std::string::npos);
  CHECK(help.find("default: green;") != std::string::npos);
  CHECK(help.find("default: 0.5;") != std::string::npos);
  CHECK(help.find("default: 1500;") != std::string::npos);
  CHECK(help.find("--once\n") != std::string::npos);
  CHECK(help.find("default: 0.0.0.0:8443;") != std::string::npos);
}

TEST_CASE("bad command lines are ConfigError with a reason", "[unit][options]") {
  using V = std::vector<const char*>;
  auto argv = GENERATE(V{"prog", "--nope", "1"}, V{"prog", "positional"}, V{"prog", "--state-dir"},
                       V{"prog", "--once=maybe"}, V{"prog", "--config=/nonexistent/edgefed.conf"});
  Config c;
  Options o = make(c);
  CHECK_THROWS_AS(o.read(static_cast<int>(argv.size()), argv.data(), nullptr), ConfigError);
}

TEST_CASE("values are typed and range-checked, with messages naming the flag", "[unit][options]") {
  Config c;
  CHECK(error_of({"--threads=two"}, c) == "option --threads wants an integer, got 'two'");
  CHECK(error_of({"--threads=0"}, c) == "--threads must be >= 1");
  CHECK(error_of({"--rate=x"}, c) == "option --rate wants a number, got 'x'");
  CHECK(error_of({"--rate=inf"}, c) == "option --rate wants a number, got 'inf'");
  CHECK(error_of({"--rate=0"}, c) == "--rate must be > 0");
  CHECK(error_of({"--workers=300"}, c) == "--workers must be in 1..256");
  CHECK(error_of({"--workers=99999999999"}, c).find("--workers") != std::string::npos);
  CHECK(error_of({"--seed=-1"}, c) == "--seed must be >= 0");
  CHECK(error_of({"--timeout-ms=0"}, c) == "--timeout-ms must be >= 1");
  CHECK(error_of({"--listen=nohost"}, c) == "'nohost' is not HOST:PORT");
  CHECK(error_of({"--threads=3", "--rate=1e-3", "--workers=256", "--seed=0"}, c).empty());
  CHECK(c.threads == 3);
  CHECK(c.rate == 0.001);
  CHECK(c.workers == 256);
  CHECK(c.seed == 0);
}

TEST_CASE("an enum flag takes one of its names, else names the flag and the choices", "[unit][options]") {
  Config c;
  CHECK(error_of({"--colour=purple"}, c) == "--colour must be red, green or blue, got 'purple'");
  CHECK(error_of({"--colour", "Red"}, c) == "--colour must be red, green or blue, got 'Red'");  // exact names
  CHECK(error_of({"--colour", "red"}, c).empty());
  CHECK(c.colour == Colour::kRed);
}

TEST_CASE("apply() stores every value it can before it throws the first error", "[unit][options]") {
  const char* argv[] = {"prog", "--threads=x", "--once", "--colour=blue", "--rate=-1"};
  Config c;
  Options o = make(c);
  o.read(5, argv, nullptr);
  CHECK_FALSE(c.once);  // read() collects text only
  try {
    o.apply();
    FAIL("apply() accepted --threads=x");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == "option --threads wants an integer, got 'x'");
  }
  CHECK(c.once);
  CHECK(c.colour == Colour::kBlue);
  CHECK(c.threads == 2);
}

TEST_CASE("host:port parsing", "[unit][options]") {
  CHECK(parse_host_port("127.0.0.1:8443") == std::pair<std::string, uint16_t>{"127.0.0.1", 8443});
  CHECK(parse_host_port("[::1]:9") == std::pair<std::string, uint16_t>{"::1", 9});
  CHECK_THROWS_AS(parse_host_port("nohost"), ConfigError);
  CHECK_THROWS_AS(parse_host_port("h:99999"), ConfigError);
  CHECK_THROWS_AS(parse_host_port("h:8x"), ConfigError);
}

TEST_CASE("a test-only option is parsed like any other but never shown in --help", "[unit][options]") {
  Config c;
  Options o = make(c);
  const char* argv[] = {"prog", "--attack", "sign-flip"};
  const char* env[] = {nullptr};
  o.parse(3, argv, env);
  CHECK(c.attack == "sign-flip");
  CHECK(o.source("attack") == "flag");
  const auto help = o.help_text();
  CHECK(help.find("--state-dir") != std::string::npos);
  CHECK(help.find("attack") == std::string::npos);
  CHECK(help.find("TEST ONLY") == std::string::npos);
}

TEST_CASE("a flag is declared once", "[unit][options]") {
  Config c;
  Options o = make(c);
  CHECK_THROWS_AS(o.bind("threads", &c.threads, "again"), std::logic_error);
}

TEST_CASE("enum name tables parse, print and list the names, and JSON uses them", "[unit][options]") {
  CHECK(enum_name(Colour::kBlue) == "blue");
  CHECK(parse_enum<Colour>("green") == Colour::kGreen);
  CHECK_FALSE(parse_enum<Colour>("GREEN"));
  CHECK_FALSE(parse_enum<Colour>(""));
  CHECK(enum_choices<Colour>() == "red, green or blue");
  CHECK(enum_choices<Colour>(", ", ", ") == "red, green, blue");
  static_assert(NamedEnum<Colour>);
  static_assert(!NamedEnum<Code>);
  nlohmann::json j = {{"colour", Colour::kRed}};
  CHECK(j.dump() == R"({"colour":"red"})");
  CHECK(nlohmann::json("blue").get<Colour>() == Colour::kBlue);
  CHECK_THROWS(nlohmann::json("mauve").get<Colour>());
}
