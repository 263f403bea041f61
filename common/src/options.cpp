#include "edgefed/options.hpp"

#include <cmath>
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

}  // namespace

Options::Options(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  add("config", "", "configuration file of 'name = value' lines (flags override it, it overrides EDGEFED_* variables)");
}

Options& Options::add(const std::string& name, const std::string& default_value, const std::string& help) {
  if (!defs_.count(name)) order_.push_back(name);
  defs_[name] = Def{default_value, help, false, default_value, "default"};
  return *this;
}

Options& Options::add_test_only(const std::string& name, const std::string& default_value, const std::string& help) {
  add(name, default_value, help);
  defs_[name].test_only = true;
  return *this;
}

Options& Options::add_bool(const std::string& name, bool default_value, const std::string& help) {
  add(name, default_value ? "true" : "false", help);
  defs_[name].is_bool = true;
  return *this;
}

Options::Def& Options::def(const std::string& name) {
  auto it = defs_.find(name);
  if (it == defs_.end()) throw ConfigError("unknown option '" + name + "'");
  return it->second;
}
const Options::Def& Options::def(const std::string& name) const {
  auto it = defs_.find(name);
  if (it == defs_.end()) throw ConfigError("unknown option '" + name + "'");
  return it->second;
}

void Options::set(const std::string& name, const std::string& value, const std::string& source) {
  Def& d = def(name);
  if (d.is_bool) {
    bool b = false;
    if (!parse_bool_text(value, b))
      throw ConfigError("option --" + name + " (" + source + ") wants true or false, got '" + value + "'");
  }
  d.value = value;
  d.source = source;
}

void Options::parse(int argc, const char* const* argv, const char* const* env) {
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
    auto it = defs_.find(name);
    if (it == defs_.end()) throw ConfigError("unknown flag --" + name + " (see --help)");
    if (!has_value) {
      if (it->second.is_bool) {
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
  std::string config_path = flags.count("config") ? flags["config"] : get("config");
  if (!config_path.empty()) load_config_file(config_path);
  // 1. Flags.
  for (const auto& [name, value] : flags) set(name, value, "flag");
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
    if (!defs_.count(name) || name == "config")
      throw ConfigError(path + ":" + std::to_string(lineno) + ": unknown option '" + name + "'");
    set(name, value, "config");
  }
}

std::string Options::help_text() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [--option value]...\n" << summary_ << "\n\nOptions:\n";
  for (const auto& name : order_) {
    const Def& d = defs_.at(name);
    if (d.test_only) continue;
    out << "  --" << name << (d.is_bool ? "" : " VALUE") << "\n      " << d.help << "\n      default: "
        << (d.default_value.empty() ? "(none)" : d.default_value) << "; environment: " << env_name(name)
        << "\n";
  }
  out << "  --help\n      print this help and exit\n";
  return out.str();
}

const std::string& Options::get(const std::string& name) const { return def(name).value; }

int64_t Options::get_int(const std::string& name) const {
  const std::string& v = get(name);
  try {
    size_t pos = 0;
    const long long n = std::stoll(v, &pos);
    if (pos == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw ConfigError("option --" + name + " wants an integer, got '" + v + "'");
}

double Options::get_double(const std::string& name) const {
  const std::string& v = get(name);
  try {
    size_t pos = 0;
    const double d = std::stod(v, &pos);
    if (pos == v.size() && std::isfinite(d)) return d;
  } catch (const std::exception&) {
  }
  throw ConfigError("option --" + name + " wants a number, got '" + v + "'");
}

bool Options::get_bool(const std::string& name) const {
  bool b = false;
  if (!parse_bool_text(get(name), b)) throw ConfigError("option --" + name + " wants true or false");
  return b;
}

const std::string& Options::source(const std::string& name) const { return def(name).source; }

std::map<std::string, std::string> Options::values() const {
  std::map<std::string, std::string> out;
  for (const auto& [k, d] : defs_) out[k] = d.value;
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
