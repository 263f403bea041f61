#include "edgefed/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>

namespace edgefed::log {
namespace {

struct Settings {
  std::mutex mu;
  std::string component = "edgefed";
  nlohmann::json globals = nlohmann::json::object();
};
Settings& settings() {
  static Settings s;
  return s;
}
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

std::string now_iso8601() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

}  // namespace

void set_component(std::string component) {
  std::lock_guard lock(settings().mu);
  settings().component = std::move(component);
}
void set_level(Level level) { g_level = static_cast<int>(level); }
void set_global_field(std::string_view key, std::string_view value) {
  std::lock_guard lock(settings().mu);
  settings().globals[std::string(key)] = std::string(value);
}

struct Event::Fields {
  nlohmann::json json = nlohmann::json::object();
};

Event::Event(Level level, std::string_view name) : enabled_(static_cast<int>(level) >= g_level.load()) {
  if (!enabled_) return;
  fields_ = std::make_unique<Fields>();
  fields_->json["ts"] = now_iso8601();
  fields_->json["level"] = level;
  fields_->json["event"] = std::string(name);
}

template <class V>
Event& Event::set(std::string_view key, V&& value) {
  if (enabled_) fields_->json[std::string(key)] = std::forward<V>(value);
  return *this;
}

Event& Event::kv(std::string_view key, std::string_view value) { return set(key, std::string(value)); }
Event& Event::kv(std::string_view key, bool value) { return set(key, value); }
Event& Event::kv(std::string_view key, double value) { return set(key, value); }
Event& Event::kv_int(std::string_view key, int64_t value) { return set(key, value); }
Event& Event::kv_uint(std::string_view key, uint64_t value) { return set(key, value); }
Event& Event::kv_json(std::string_view key, std::string_view json_text) {
  if (!enabled_) return *this;
  auto value = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = std::string(json_text);
  return set(key, std::move(value));
}

Event::~Event() {
  if (!enabled_) return;
  const nlohmann::json& fields = fields_->json;
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = fields["ts"];
  line["level"] = fields["level"];
  {
    std::lock_guard lock(settings().mu);
    line["component"] = settings().component;
    for (auto& [k, v] : settings().globals.items()) line[k] = v;
  }
  for (auto& [k, v] : fields.items()) line[k] = v;
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  // One write per line: lines from concurrent threads never interleave.
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace edgefed::log
