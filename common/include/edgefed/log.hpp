// Structured logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-22T10:00:00.123Z","level":"info","component":"server",
//    "event":"update_accepted","agent":"agent-007","version":42}
// Thread-safe; each line is written with one write() so lines never interleave.
// Never pass secrets (keys, tokens) as fields.
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "edgefed/enum_names.hpp"

namespace edgefed::log {

enum class Level { kDebug, kInfo, kWarn, kError };
// The names of --log-level and of the "level" field.
inline constexpr EnumName<Level> kLevelNames[] = {
    {Level::kDebug, "debug"}, {Level::kInfo, "info"}, {Level::kWarn, "warn"}, {Level::kError, "error"}};
constexpr std::span<const EnumName<Level>> enum_names(Level) { return kLevelNames; }

// Process-wide settings, set once in main().
void set_component(std::string component);  // "server", "agent", "sim"
void set_level(Level level);
// Fields added to every line (e.g. "agent": "agent-007").
void set_global_field(std::string_view key, std::string_view value);

// One event; emitted when it goes out of scope. Field values are strings,
// booleans, integers, floating-point numbers and named enums (written as
// their name). The JSON encoding lives in log.cpp, so this header does not
// pull the JSON library into every file that logs.
class Event {
 public:
  Event(Level level, std::string_view name);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  Event& kv(std::string_view key, std::string_view value);
  Event& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  Event& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view(value)); }
  Event& kv(std::string_view key, bool value);
  Event& kv(std::string_view key, double value);
  template <std::signed_integral T>
    requires(!std::same_as<T, bool>)
  Event& kv(std::string_view key, T value) { return kv_int(key, static_cast<int64_t>(value)); }
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  Event& kv(std::string_view key, T value) { return kv_uint(key, static_cast<uint64_t>(value)); }
  template <std::floating_point T>
    requires(!std::same_as<T, double>)
  Event& kv(std::string_view key, T value) { return kv(key, static_cast<double>(value)); }
  template <NamedEnum E>
  Event& kv(std::string_view key, E value) { return kv(key, enum_name(value)); }
  // A nested value: `json_text` is JSON the caller serialised (an object or
  // array, e.g. the audit log's "detail"); text that does not parse is
  // logged as a string.
  Event& kv_json(std::string_view key, std::string_view json_text);

 private:
  struct Fields;  // the JSON object (log.cpp)
  Event& kv_int(std::string_view key, int64_t value);
  Event& kv_uint(std::string_view key, uint64_t value);
  // The one setter behind every kv(): writes the field if the event is
  // enabled (defined and used in log.cpp only).
  template <class V>
  Event& set(std::string_view key, V&& value);
  bool enabled_;
  std::unique_ptr<Fields> fields_;  // null when the level is disabled
};

inline Event debug(std::string_view name) { return Event(Level::kDebug, name); }
inline Event info(std::string_view name) { return Event(Level::kInfo, name); }
inline Event warn(std::string_view name) { return Event(Level::kWarn, name); }
inline Event error(std::string_view name) { return Event(Level::kError, name); }

}  // namespace edgefed::log
