// Command-line options shared by every edgefed binary: one table per binary
// in which each flag is declared once, binding its name, its help line and
// the config field it fills; the field's initial value is the default.
//
//   ServerConfig c;                      // every field has its default
//   Options o("edgefed-server", "...");
//   o.bind("buffer-k", &c.engine.buffer_k, "async: a new version every K updates").at_least(1);
//   o.bind("mode", &c.engine.mode, "merging mode");   // an enum: names from enum_names.hpp
//   o.parse(argc, argv, environ);        // fills c, or throws ConfigError
//
// Values come from, highest precedence first:
//   1. flags: --name value or --name=value (booleans: --name, --name=false)
//   2. the config file named by --config (or EDGEFED_CONFIG): lines
//      "name = value", '#' comments, same names as the flags
//   3. environment variables EDGEFED_<NAME> (upper case, '-' -> '_'),
//      which is what the K3s manifests set
//   4. the default (the bound field's value when bind() was called).
// Unknown flags and unknown config keys are ConfigError (a typo must not be
// silently ignored); unknown EDGEFED_* variables are ignored since the
// environment is shared. --help lists every option but the test-only ones
// with its default, its choices (enums) and its environment variable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edgefed/enum_names.hpp"
#include "edgefed/status.hpp"

namespace edgefed {

class Options {
 public:
  // One declared option; bind() returns it to add a range or hide it.
  class Option {
   public:
    // Range checks, in the units of the field, refusing with ConfigError
    // "--name must be >= min" (at_least), "> min" (above), "<= max"
    // (at_most) or "in min..max" (in). For numeric fields only.
    Option& at_least(double min);
    Option& above(double min);
    Option& at_most(double max);
    Option& in(double min, double max);
    // A test seam, not a product feature: parsed like any other option
    // (flag, config, environment) but left out of help_text(), so users
    // never meet it.
    Option& test_only();

   private:
    friend class Options;
    void check_range(double v) const;  // throws ConfigError

    std::string name_;
    std::string help_;
    std::string default_value_;
    std::string value_;
    std::string source_ = "default";
    std::string choices_;  // enums: "a|b|c", shown in help_text()
    bool is_bool_ = false;
    bool test_only_ = false;
    std::optional<double> min_, max_;
    bool min_open_ = false;
    // Converts value_ into the bound field; throws ConfigError naming the flag.
    std::function<void(const Option&)> store_;
  };

  Options(std::string program, std::string summary);

  // ---- the table ----
  // Declares --name (without dashes, e.g. "state-dir"), bound to *field:
  // the field's current value is the default, parse() stores the final
  // value there. `field` must outlive parse().
  Option& bind(const std::string& name, std::string* field, const std::string& help);
  Option& bind(const std::string& name, bool* field, const std::string& help);
  Option& bind(const std::string& name, int* field, const std::string& help);
  Option& bind(const std::string& name, int64_t* field, const std::string& help);
  Option& bind(const std::string& name, uint64_t* field, const std::string& help);  // refuses < 0
  // size_t on 32-bit targets (armhf); refuses < 0 and > UINT_MAX.
  Option& bind(const std::string& name, unsigned int* field, const std::string& help);
  Option& bind(const std::string& name, double* field, const std::string& help);    // finite
  Option& bind(const std::string& name, std::chrono::milliseconds* field, const std::string& help);  // integer ms
  // An enum with a name table (enum_names.hpp): the value must be one of its
  // names, else "--name must be a, b or c, got 'x'".
  template <NamedEnum E>
  Option& bind(const std::string& name, E* field, const std::string& help) {
    Option& o = declare(name, std::string(enum_name(*field)), help);
    o.choices_ = enum_choices<E>("|", "|");
    o.store_ = [field](const Option& opt) {
      const auto v = parse_enum<E>(opt.value_);
      if (!v) throw ConfigError("--" + opt.name_ + " must be " + enum_choices<E>() + ", got '" + opt.value_ + "'");
      *field = *v;
    };
    return o;
  }
  // A value with a syntax of its own (HOST:PORT, a list): `store` parses the
  // text (default_text when not given) and throws ConfigError when it cannot.
  Option& bind_text(const std::string& name, const std::string& default_text, const std::string& help,
                    std::function<void(const std::string& value)> store);

  // ---- parsing ----
  // read() then apply(). Throws ConfigError.
  void parse(int argc, const char* const* argv, const char* const* env);
  // Collects the values from flags, the --config file and `env` (a list of
  // "KEY=VALUE", environ; may be null). Refuses unknown flags and config
  // keys, positional arguments, flags without a value and booleans that are
  // not true/false/1/0/yes/no/on/off. Also defines --config and --help.
  void read(int argc, const char* const* argv, const char* const* env);
  // Stores every value into its field (numbers, ranges, enum names,
  // bind_text parsers), all of them, then throws the first ConfigError, if
  // any: the fields that could be stored are, so a caller can still look at
  // a flag such as --check-config.
  void apply();

  bool help_requested() const { return help_; }
  std::string help_text() const;

  // The final text of an option and where it came from ("flag", "config",
  // "env" or "default").
  const std::string& value(const std::string& name) const;
  const std::string& source(const std::string& name) const;
  // Every option's final text (for --check-config and start-up logs).
  std::map<std::string, std::string> values() const;

 private:
  Option& declare(const std::string& name, const std::string& default_value, const std::string& help);
  Option& option(const std::string& name);
  const Option& option(const std::string& name) const;
  void set(const std::string& name, const std::string& value, const std::string& source);
  void load_config_file(const std::string& path);

  std::string program_;
  std::string summary_;
  std::vector<std::string> order_;
  std::map<std::string, std::unique_ptr<Option>> options_;
  bool help_ = false;
};

// "HOST:PORT" -> host, port; ConfigError on a bad form or port.
std::pair<std::string, uint16_t> parse_host_port(const std::string& text);

}  // namespace edgefed
