// Internal: reads the members of one JSON object with range checks, keeping
// the first failure as a Status whose message names the field by its path
// ("telemetry.records[3].seq: must be an integer >= 1, got 0"). The protocol
// parsers chain these calls and look at status() once at the end, which keeps
// each parser a flat list of fields that reads like its schema.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "edgefed/enum_names.hpp"
#include "edgefed/status.hpp"

namespace edgefed::detail {

enum class Need { kRequired, kOptional };

// A closed, half-open or open interval for doubles.
struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;
  bool max_open = false;
  static Range any() { return {}; }
  static Range at_least(double v) { return {v, Range{}.max, false, false}; }
  static Range above(double v) { return {v, Range{}.max, true, false}; }
  static Range closed(double lo, double hi) { return {lo, hi, false, false}; }
  static Range half_open(double lo, double hi) { return {lo, hi, false, true}; }
  static Range open_closed(double lo, double hi) { return {lo, hi, true, false}; }
  bool contains(double v) const;
  std::string describe() const;  // ">= 0", "in [0, 1)"
};

// A short rendering of a value for messages: truncated, invalid UTF-8 replaced
// (messages may quote hostile input and end up in JSON error bodies).
std::string short_dump(const nlohmann::json& v);

class Fields {
 public:
  // `where` prefixes messages: "task", "status.history[2]". Fails at once
  // unless j is an object.
  Fields(const nlohmann::json& j, std::string where);

  bool ok() const { return status_.is_ok(); }
  const Status& status() const { return status_; }

  // Each reads one member. An absent optional member leaves `out` unchanged;
  // after the first failure every call is a no-op.
  Fields& integer(std::string_view key, int64_t& out, int64_t min,
                  int64_t max = std::numeric_limits<int64_t>::max(), Need need = Need::kRequired);
  Fields& integer(std::string_view key, int& out, int min, int max, Need need = Need::kRequired);
  Fields& number(std::string_view key, double& out, Range range, Need need = Need::kRequired);
  // null and absent both give nullopt.
  Fields& nullable_number(std::string_view key, std::optional<double>& out, Range range);
  Fields& boolean(std::string_view key, bool& out, Need need = Need::kRequired);
  // A string of at most max_bytes, further checked by `valid` when given.
  Fields& string(std::string_view key, std::string& out, size_t max_bytes,
                 bool (*valid)(std::string_view) = nullptr, const char* rule = nullptr,
                 Need need = Need::kRequired);
  Fields& one_of(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed,
                 Need need = Need::kRequired);
  // One of the enum's names (enum_names.hpp), stored as its value.
  template <NamedEnum E>
  Fields& one_of(std::string_view key, E& out, Need need = Need::kRequired) {
    const nlohmann::json* v = find(key, need);
    if (v == nullptr) return *this;
    if (v->is_string()) {
      if (auto e = parse_enum<E>(v->get_ref<const std::string&>())) {
        out = *e;
        return *this;
      }
    }
    std::string list;
    for (const auto& n : names_of<E>()) list += (list.empty() ? "\"" : ", \"") + std::string(n.name) + "\"";
    fail(key, "must be one of " + list + ", got " + short_dump(*v));
    return *this;
  }
  // The member if present and of type `type` (array or object), else nullptr
  // (failing when it was required or of another type).
  const nlohmann::json* member(std::string_view key, nlohmann::json::value_t type,
                               Need need = Need::kRequired);
  // Fails on any member not in `known`.
  Fields& only(std::initializer_list<std::string_view> known);

  // Records a failure for `key` (or the object itself if key is empty).
  void fail(std::string_view key, const std::string& what);
  std::string path(std::string_view key) const;

 private:
  const nlohmann::json* find(std::string_view key, Need need);

  const nlohmann::json& j_;
  std::string where_;
  Status status_;
};

// A JSON number as an int64 if it has an integral value in range.
std::optional<int64_t> as_int64(const nlohmann::json& v);

}  // namespace edgefed::detail
