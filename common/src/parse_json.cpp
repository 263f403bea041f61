// parse_json: the one door through which untrusted JSON text enters.
#include <string>

#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"

namespace edgefed {

namespace {

// Nesting depth of a JSON text, counted on the raw bytes (brackets outside
// strings). Checking this before parsing means no deep value is ever built,
// so neither the parser nor a later recursive walk or destructor can be
// driven into a stack overflow. Returns the offset where the limit is
// crossed, or npos.
size_t depth_violation(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > max_depth) return i;
        break;
      case ']':
      case '}': --depth; break;
      default: break;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Result<nlohmann::json> parse_json(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Status(Code::kPayloadTooLarge, "JSON body of " + std::to_string(text.size()) +
                                              " bytes is larger than the limit of " +
                                              std::to_string(max_bytes));
  }
  if (const size_t at = depth_violation(text, kMaxJsonDepth); at != std::string_view::npos) {
    return Status(Code::kInvalidArgument, "JSON nests deeper than " + std::to_string(kMaxJsonDepth) +
                                              " levels (at byte " + std::to_string(at) + ")");
  }
  try {
    // nlohmann's lexer refuses ill-formed UTF-8 in strings, and any byte
    // above 0x7f outside strings is a syntax error, so the result is valid
    // UTF-8 throughout.
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    // what() quotes the last token read, which can be long: keep the start.
    std::string what = e.what();
    if (what.size() > 200) what = what.substr(0, 200) + "...";
    return Status(Code::kInvalidArgument, "invalid JSON: " + what);
  } catch (const std::exception& e) {  // bad_alloc: never let it cross a boundary
    return Status(Code::kInternal, std::string("JSON parse failed: ") + e.what());
  }
}

}  // namespace edgefed
