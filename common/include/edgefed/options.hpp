// Command-line options shared by every edgefed binary. Each option has a
// default and a help line; values come from, highest precedence first:
//   1. flags: --name value or --name=value (booleans: --name, --name=false)
//   2. the config file named by --config (or EDGEFED_CONFIG): lines
//      "name = value", '#' comments, same names as the flags
//   3. environment variables EDGEFED_<NAME> (upper case, '-' -> '_'),
//      which is what the K3s manifests set
//   4. the default.
// Unknown flags and unknown config keys are ConfigError (a typo must not be
// silently ignored); unknown EDGEFED_* variables are ignored since the
// environment is shared.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed {

class Options {
 public:
  Options(std::string program, std::string summary);

  // Declares an option; name without dashes, e.g. "state-dir".
  Options& add(const std::string& name, const std::string& default_value, const std::string& help);
  Options& add_bool(const std::string& name, bool default_value, const std::string& help);
  // A test seam, not a product feature: parsed like any other option (flag,
  // config, environment) but left out of help_text(), so users never meet it.
  Options& add_test_only(const std::string& name, const std::string& default_value, const std::string& help);

  // Throws ConfigError. `env` is a list of "KEY=VALUE" (environ), may be null.
  // Positional arguments are refused. Also defines --config and --help.
  void parse(int argc, const char* const* argv, const char* const* env);

  bool help_requested() const { return help_; }
  std::string help_text() const;

  const std::string& get(const std::string& name) const;
  int64_t get_int(const std::string& name) const;     // ConfigError if not an integer
  double get_double(const std::string& name) const;   // ConfigError if not a number
  bool get_bool(const std::string& name) const;       // true/false/1/0/yes/no
  // "flag", "config", "env" or "default": where the value came from.
  const std::string& source(const std::string& name) const;
  // Every option's final value (for --check-config and start-up logs).
  std::map<std::string, std::string> values() const;

 private:
  struct Def {
    std::string default_value;
    std::string help;
    bool is_bool = false;
    std::string value;
    std::string source = "default";
    bool test_only = false;  // add_test_only(): parsed, not in help_text()
  };
  Def& def(const std::string& name);
  const Def& def(const std::string& name) const;
  void set(const std::string& name, const std::string& value, const std::string& source);
  void load_config_file(const std::string& path);

  std::string program_;
  std::string summary_;
  std::vector<std::string> order_;
  std::map<std::string, Def> defs_;
  bool help_ = false;
};

// "HOST:PORT" -> host, port; ConfigError on a bad form or port.
std::pair<std::string, uint16_t> parse_host_port(const std::string& text);

}  // namespace edgefed
