// Names of enum values: the one table per enum that parsing (flags, config
// files, JSON), printing (--check-config, logs, JSON) and help texts use.
//
// An enum opts in by declaring, next to it and in its namespace (found by
// argument-dependent lookup), its table and a function returning it:
//
//   enum class MergeMode { kAsync, kSync };
//   inline constexpr EnumName<MergeMode> kMergeModeNames[] = {
//       {MergeMode::kAsync, "async"}, {MergeMode::kSync, "sync"}};
//   constexpr std::span<const EnumName<MergeMode>> enum_names(MergeMode) { return kMergeModeNames; }
//
// Then enum_name(e), parse_enum<E>(text) and enum_choices<E>() work, the
// enum converts to and from JSON as its name (nlohmann::adl_serializer
// below), Options::bind(name, &field, help) parses it and --help lists its
// names. The text is parsed once, at the edge; code deeper in switches on
// the value.
#pragma once

#include <concepts>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json_fwd.hpp>

namespace edgefed {

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

// An enum with a name table (see above).
template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  { enum_names(e) } -> std::convertible_to<std::span<const EnumName<E>>>;
};

template <NamedEnum E>
constexpr std::span<const EnumName<E>> names_of() {
  return enum_names(E{});
}

// The value's name; "" for a value the table does not list.
template <NamedEnum E>
constexpr std::string_view enum_name(E value) {
  for (const auto& n : names_of<E>())
    if (n.value == value) return n.name;
  return {};
}

// The value named `text` (exact, case-sensitive), if any.
template <NamedEnum E>
constexpr std::optional<E> parse_enum(std::string_view text) {
  for (const auto& n : names_of<E>())
    if (n.name == text) return n.value;
  return std::nullopt;
}

// The names in table order: "a, b or c" by default; enum_choices<E>(", ",
// ", ") gives "a, b, c", enum_choices<E>("|", "|") "a|b|c".
template <NamedEnum E>
std::string enum_choices(std::string_view separator = ", ", std::string_view last_separator = " or ") {
  std::string out;
  const auto names = names_of<E>();
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last_separator : separator;
    out += names[i].name;
  }
  return out;
}

}  // namespace edgefed

// JSON: a named enum is written and read as its name.
namespace nlohmann {
template <class E>
struct adl_serializer<E, std::enable_if_t<edgefed::NamedEnum<E>>> {
  template <class Json>
  static void to_json(Json& j, E value) {
    j = std::string(edgefed::enum_name(value));
  }
  template <class Json>
  static void from_json(const Json& j, E& value) {
    const auto v = j.is_string() ? edgefed::parse_enum<E>(j.template get_ref<const std::string&>()) : std::nullopt;
    if (!v) throw std::invalid_argument("not one of " + edgefed::enum_choices<E>(", ", ", "));
    value = *v;
  }
};
}  // namespace nlohmann
