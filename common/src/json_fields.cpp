#include "json_fields.hpp"

#include <cmath>
#include <sstream>

namespace edgefed::detail {

using nlohmann::json;

bool Range::contains(double v) const {
  if (!std::isfinite(v)) return false;
  if (min_open ? !(v > min) : !(v >= min)) return false;
  if (max_open ? !(v < max) : !(v <= max)) return false;
  return true;
}

std::string Range::describe() const {
  std::ostringstream o;
  const bool has_min = std::isfinite(min);
  const bool has_max = std::isfinite(max);
  if (has_min && has_max) {
    o << "in " << (min_open ? '(' : '[') << min << ", " << max << (max_open ? ')' : ']');
  } else if (has_min) {
    o << (min_open ? "> " : ">= ") << min;
  } else if (has_max) {
    o << (max_open ? "< " : "<= ") << max;
  } else {
    o << "finite";
  }
  return o.str();
}

std::string short_dump(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr size_t kMax = 48;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

std::optional<int64_t> as_int64(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    // JSON Schema counts 3.0 as an integer; agree with it. 2^63 itself is out.
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d) return std::nullopt;
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

Fields::Fields(const json& j, std::string where) : j_(j), where_(std::move(where)) {
  if (!j_.is_object()) fail("", "must be a JSON object, got " + std::string(j_.type_name()));
}

std::string Fields::path(std::string_view key) const {
  if (key.empty()) return where_;
  if (where_.empty()) return std::string(key);
  return where_ + "." + std::string(key);
}

void Fields::fail(std::string_view key, const std::string& what) {
  if (!status_.is_ok()) return;
  const std::string where = path(key);
  status_ = Status(Code::kInvalidArgument, (where.empty() ? "body" : where) + ": " + what);
}

const json* Fields::find(std::string_view key, Need need) {
  if (!ok()) return nullptr;
  const auto it = j_.find(key);
  if (it == j_.end()) {
    if (need == Need::kRequired) fail(key, "is required");
    return nullptr;
  }
  return &*it;
}

Fields& Fields::integer(std::string_view key, int64_t& out, int64_t min, int64_t max, Need need) {
  const json* v = find(key, need);
  if (v == nullptr) return *this;
  const auto i = as_int64(*v);
  if (!i || *i < min || *i > max) {
    std::string rule = "must be an integer >= " + std::to_string(min);
    if (max != std::numeric_limits<int64_t>::max()) rule += " and <= " + std::to_string(max);
    fail(key, rule + ", got " + short_dump(*v));
    return *this;
  }
  out = *i;
  return *this;
}

Fields& Fields::integer(std::string_view key, int& out, int min, int max, Need need) {
  int64_t wide = out;
  integer(key, wide, min, max, need);
  if (ok()) out = static_cast<int>(wide);
  return *this;
}

Fields& Fields::number(std::string_view key, double& out, Range range, Need need) {
  const json* v = find(key, need);
  if (v == nullptr) return *this;
  if (!v->is_number() || !range.contains(v->get<double>())) {
    fail(key, "must be a number " + range.describe() + ", got " + short_dump(*v));
    return *this;
  }
  out = v->get<double>();
  return *this;
}

Fields& Fields::nullable_number(std::string_view key, std::optional<double>& out, Range range) {
  const json* v = find(key, Need::kOptional);
  if (v == nullptr || v->is_null()) {
    if (ok()) out.reset();
    return *this;
  }
  double d = 0;
  number(key, d, range);
  if (ok()) out = d;
  return *this;
}

Fields& Fields::boolean(std::string_view key, bool& out, Need need) {
  const json* v = find(key, need);
  if (v == nullptr) return *this;
  if (!v->is_boolean()) {
    fail(key, "must be true or false, got " + short_dump(*v));
    return *this;
  }
  out = v->get<bool>();
  return *this;
}

Fields& Fields::string(std::string_view key, std::string& out, size_t max_bytes,
                       bool (*valid)(std::string_view), const char* rule, Need need) {
  const json* v = find(key, need);
  if (v == nullptr) return *this;
  if (!v->is_string()) {
    fail(key, "must be a string, got " + short_dump(*v));
    return *this;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    fail(key, "must be at most " + std::to_string(max_bytes) + " bytes, got " + std::to_string(s.size()));
    return *this;
  }
  if (valid != nullptr && !valid(s)) {
    fail(key, std::string("must be ") + (rule != nullptr ? rule : "valid") + ", got " + short_dump(*v));
    return *this;
  }
  out = s;
  return *this;
}

Fields& Fields::one_of(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed,
                       Need need) {
  const json* v = find(key, need);
  if (v == nullptr) return *this;
  if (v->is_string()) {
    for (std::string_view a : allowed) {
      if (v->get_ref<const std::string&>() == a) {
        out = std::string(a);
        return *this;
      }
    }
  }
  std::string list;
  for (std::string_view a : allowed) list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
  fail(key, "must be one of " + list + ", got " + short_dump(*v));
  return *this;
}

const json* Fields::member(std::string_view key, json::value_t type, Need need) {
  const json* v = find(key, need);
  if (v == nullptr) return nullptr;
  if (v->type() != type) {
    fail(key, std::string("must be ") + (type == json::value_t::array ? "an array" : "an object") + ", got " +
                  v->type_name());
    return nullptr;
  }
  return v;
}

Fields& Fields::only(std::initializer_list<std::string_view> known) {
  if (!ok()) return *this;
  for (const auto& [k, v] : j_.items()) {
    bool found = false;
    for (std::string_view n : known) found = found || k == n;
    if (!found) {
      // Hostile keys can be long: name only their start.
      fail(k.size() > 64 ? k.substr(0, 64) + "..." : k, "is not a known field");
      return *this;
    }
  }
  return *this;
}

}  // namespace edgefed::detail
