#include "edgefed/options.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace edgefed {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string env_name(const std::string& name) {
  std::string out = "EDGEFED_";
  for (char c : name) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

bool parse_bool_text(const std::string& v, bool& out) {
  static const std::set<std::string> t{"1", "true", "yes", "on"}, f{"0", "false", "no", "off"};
  if (t.count(v)) { out = true; return true; }
  if (f.count(v)) { out = false; return true; }
  return false;
}

// The shortest text that reads back as v (defaults and bounds in messages).
std::string number_text(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::ostringstream s;
  s << v;
  return s.str();
}

// An integer, all of the text; nullopt otherwise.
std::optional<int64_t> integer_of(const std::string& v) {
  try {
    size_t pos = 0;
    const long long n = std::stoll(v, &pos);
    if (pos == v.size()) return n;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

int64_t integer_option(const std::string& name, const std::string& v) {
  const auto n = integer_of(v);
  if (!n) throw ConfigError("option --" + name + " wants an integer, got '" + v + "'");
  return *n;
}

double number_option(const std::string& name, const std::string& v) {
  try {
    size_t pos = 0;
    const double d = std::stod(v, &pos);
    if (pos == v.size() && std::isfinite(d)) return d;
  } catch (const std::exception&) {
  }
  throw ConfigError("option --" + name + " wants a number, got '" + v + "'");
}

}  // namespace

// ---- Option ----

Options::Option& Options::Option::at_least(double min) {
  min_ = min;
  min_open_ = false;
  return *this;
}

Options::Option& Options::Option::above(double min) {
  min_ = min;
  min_open_ = true;
  return *this;
}

Options::Option& Options::Option::at_most(double max) {
  max_ = max;
  return *this;
}

Options::Option& Options::Option::in(double min, double max) {
  min_ = min;
  min_open_ = false;
  max_ = max;
  return *this;
}

Options::Option& Options::Option::test_only() {
  test_only_ = true;
  return *this;
}

void Options::Option::check_range(double v) const {
  const bool low = min_ && (min_open_ ? !(v > *min_) : !(v >= *min_));
  const bool high = max_ && !(v <= *max_);
  if (!low && !high) return;
  const std::string flag = "--" + name_ + " must be ";
  if (min_ && max_) throw ConfigError(flag + "in " + number_text(*min_) + ".." + number_text(*max_));
  if (low) throw ConfigError(flag + (min_open_ ? "> " : ">= ") + number_text(*min_));
  throw ConfigError(flag + "<= " + number_text(*max_));
}

// ---- the table ----

Options::Options(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  declare("config", "", "configuration file of 'name = value' lines (flags override it, it overrides EDGEFED_* variables)");
}

Options::Option& Options::declare(const std::string& name, const std::string& default_value, const std::string& help) {
  if (options_.count(name)) throw std::logic_error("option --" + name + " declared twice");
  order_.push_back(name);
  auto o = std::make_unique<Option>();
  o->name_ = name;
  o->help_ = help;
  o->default_value_ = o->value_ = default_value;
  return *(options_[name] = std::move(o));
}

Options::Option& Options::bind(const std::string& name, std::string* field, const std::string& help) {
  Option& o = declare(name, *field, help);
  o.store_ = [field](const Option& opt) { *field = opt.value_; };
  return o;
}

Options::Option& Options::bind(const std::string& name, bool* field, const std::string& help) {
  Option& o = declare(name, *field ? "true" : "false", help);
  o.is_bool_ = true;
  o.store_ = [field](const Option& opt) {
    bool b = false;
    if (!parse_bool_text(opt.value_, b)) throw ConfigError("option --" + opt.name_ + " wants true or false");
    *field = b;
  };
  return o;
}

Options::Option& Options::bind(const std::string& name, int* field, const std::string& help) {
  Option& o = declare(name, std::to_string(*field), help);
  o.store_ = [field](const Option& opt) {
    const int64_t v = integer_option(opt.name_, opt.value_);
    opt.check_range(static_cast<double>(v));
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      throw ConfigError("option --" + opt.name_ + " is out of range, got '" + opt.value_ + "'");
    *field = static_cast<int>(v);
  };
  return o;
}

Options::Option& Options::bind(const std::string& name, int64_t* field, const std::string& help) {
  Option& o = declare(name, std::to_string(*field), help);
  o.store_ = [field](const Option& opt) {
    const int64_t v = integer_option(opt.name_, opt.value_);
    opt.check_range(static_cast<double>(v));
    *field = v;
  };
  return o;
}

Options::Option& Options::bind(const std::string& name, unsigned int* field, const std::string& help) {
  Option& o = declare(name, std::to_string(*field), help);
  o.store_ = [field](const Option& opt) {
    const int64_t v = integer_option(opt.name_, opt.value_);
    if (v < 0) throw ConfigError("--" + opt.name_ + " must be >= 0");
    if (v > int64_t{std::numeric_limits<unsigned int>::max()})
      throw ConfigError("--" + opt.name_ + " must be <= " + std::to_string(std::numeric_limits<unsigned int>::max()));
    opt.check_range(static_cast<double>(v));
    *field = static_cast<unsigned int>(v);
  };
  return o;
}

Options::Option& Options::bind(const std::string& name, uint64_t* field, const std::string& help) {
  Option& o = declare(name, std::to_string(*field), help);
  o.store_ = [field](const Option& opt) {
    const int64_t v = integer_option(opt.name_, opt.value_);
    if (v < 0) throw ConfigError("--" + opt.name_ + " must be >= 0");
    opt.check_range(static_cast<double>(v));
    *field = static_cast<uint64_t>(v);
  };
  return o;
}

Options::Option& Options::bind(const std::string& name, double* field, const std::string& help) {
  Option& o = declare(name, number_text(*field), help);
  o.store_ = [field](const Option& opt) {
    const double v = number_option(opt.name_, opt.value_);
    opt.check_range(v);
    *field = v;
  };
  return o;
}

Options::Option& Options::bind(const std::string& name, std::chrono::milliseconds* field, const std::string& help) {
  Option& o = declare(name, std::to_string(field->count()), help);
  o.store_ = [field](const Option& opt) {
    const int64_t v = integer_option(opt.name_, opt.value_);
    opt.check_range(static_cast<double>(v));
    *field = std::chrono::milliseconds(v);
  };
  return o;
}

Options::Option& Options::bind_text(const std::string& name, const std::string& default_text,
                                    const std::string& help, std::function<void(const std::string&)> store) {
  Option& o = declare(name, default_text, help);
  o.store_ = [store = std::move(store)](const Option& opt) { store(opt.value_); };
  return o;
}

Options::Option& Options::option(const std::string& name) {
  auto it = options_.find(name);
  if (it == options_.end()) throw ConfigError("unknown option '" + name + "'");
  return *it->second;
}

const Options::Option& Options::option(const std::string& name) const {
  auto it = options_.find(name);
  if (it == options_.end()) throw ConfigError("unknown option '" + name + "'");
  return *it->second;
}

void Options::set(const std::string& name, const std::string& value, const std::string& source) {
  Option& o = option(name);
  if (o.is_bool_) {
    bool b = false;
    if (!parse_bool_text(value, b))
      throw ConfigError("option --" + name + " (" + source + ") wants true or false, got '" + value + "'");
  }
  o.value_ = value;
  o.source_ = source;
}

// ---- parsing ----

void Options::parse(int argc, const char* const* argv, const char* const* env) {
  read(argc, argv, env);
  apply();
}

void Options::read(int argc, const char* const* argv, const char* const* env) {
  // 1. Collect flags first (they win), remembering which were given.
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") { help_ = true; continue; }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2)
      throw ConfigError("unexpected argument '" + arg + "' (see --help)");
    std::string name = arg.substr(2), value;
    const auto eq = name.find('=');
    const bool has_value = eq != std::string::npos;
    if (has_value) { value = name.substr(eq + 1); name = name.substr(0, eq); }
    auto it = options_.find(name);
    if (it == options_.end()) throw ConfigError("unknown flag --" + name + " (see --help)");
    if (!has_value) {
      if (it->second->is_bool_) {
        value = "true";
      } else {
        if (i + 1 >= argc) throw ConfigError("flag --" + name + " needs a value");
        value = argv[++i];
      }
    }
    flags[name] = value;
  }
  // 3. Environment (lowest of the explicit sources).
  if (env) {
    for (const char* const* e = env; *e; ++e) {
      const char* kv = *e;
      const char* eq = std::strchr(kv, '=');
      if (!eq || std::strncmp(kv, "EDGEFED_", 8) != 0) continue;
      const std::string key(kv, eq);
      for (const auto& name : order_)
        if (env_name(name) == key) set(name, eq + 1, "env");
    }
  }
  // 2. Config file, named by flag or environment.
  const std::string config_path = flags.count("config") ? flags["config"] : value("config");
  if (!config_path.empty()) load_config_file(config_path);
  // 1. Flags.
  for (const auto& [name, v] : flags) set(name, v, "flag");
}

void Options::apply() {
  std::optional<ConfigError> first;
  for (const auto& name : order_) {
    const Option& o = *options_.at(name);
    if (!o.store_) continue;
    try {
      o.store_(o);
    } catch (const ConfigError& e) {
      if (!first) first = e;
    }
  }
  if (first) throw *first;
}

void Options::load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path + ": " + std::strerror(errno));
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      throw ConfigError(path + ":" + std::to_string(lineno) + ": expected 'name = value'");
    std::string name = trim(line.substr(0, eq));
    if (name.rfind("--", 0) == 0) name = name.substr(2);
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (!options_.count(name) || name == "config")
      throw ConfigError(path + ":" + std::to_string(lineno) + ": unknown option '" + name + "'");
    set(name, value, "config");
  }
}

std::string Options::help_text() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [--option value]...\n" << summary_ << "\n\nOptions:\n";
  for (const auto& name : order_) {
    const Option& o = *options_.at(name);
    if (o.test_only_) continue;
    out << "  --" << name << (o.is_bool_ ? "" : o.choices_.empty() ? " VALUE" : " " + o.choices_) << "\n      "
        << o.help_ << "\n      default: " << (o.default_value_.empty() ? "(none)" : o.default_value_)
        << "; environment: " << env_name(name) << "\n";
  }
  out << "  --help\n      print this help and exit\n";
  return out.str();
}

const std::string& Options::value(const std::string& name) const { return option(name).value_; }

const std::string& Options::source(const std::string& name) const { return option(name).source_; }

std::map<std::string, std::string> Options::values() const {
  std::map<std::string, std::string> out;
  for (const auto& [k, o] : options_) out[k] = o->value_;
  return out;
}

std::pair<std::string, uint16_t> parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw ConfigError("'" + text + "' is not HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = text.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5)
    throw ConfigError("'" + text + "' has a bad port");
  const int port = std::stoi(port_text);
  if (port > 65535) throw ConfigError("'" + text + "' has a bad port");
  return {host, static_cast<uint16_t>(port)};
}

}  // namespace edgefed
