// Structured logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-22T10:00:00.123Z","level":"info","component":"server",
//    "event":"update_accepted","agent":"agent-007","version":42}
// Thread-safe; each line is written with one write() so lines never interleave.
// Never pass secrets (keys, tokens) as fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

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
void set_global_field(const std::string& key, const nlohmann::json& value);

// One event; emitted when it goes out of scope.
class Event {
 public:
  Event(Level level, std::string_view name);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  template <typename T>
  Event& kv(const std::string& key, T&& value) {
    if (enabled_) fields_[key] = std::forward<T>(value);
    return *this;
  }

 private:
  bool enabled_;
  nlohmann::json fields_;
};

inline Event debug(std::string_view name) { return Event(Level::kDebug, name); }
inline Event info(std::string_view name) { return Event(Level::kInfo, name); }
inline Event warn(std::string_view name) { return Event(Level::kWarn, name); }
inline Event error(std::string_view name) { return Event(Level::kError, name); }

}  // namespace edgefed::log
