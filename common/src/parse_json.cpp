// parse_json: the one door through which untrusted JSON text enters.
#include <memory>
#include <set>
#include <string>
#include <vector>

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

// Remembers the keys of every open object, to refuse duplicates: parsers
// disagree on which of two equal keys wins (nlohmann and JSON.parse keep the
// last, others the first), so {"agent_id": "a", "agent_id": "b"} could mean
// one agent to a validator and another to the code behind it.
class DuplicateKeyCheck {
 public:
  bool operator()(int, nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start: open_.emplace_back(); break;
      case E::array_start: open_.emplace_back(); break;  // arrays have no keys; keeps the stack aligned
      case E::object_end:
      case E::array_end:
        if (!open_.empty()) open_.pop_back();
        break;
      case E::key:
        if (!open_.empty() && !open_.back().insert(parsed.get<std::string>()).second && !found_) {
          found_ = true;
          duplicate_ = parsed.get<std::string>();
        }
        break;
      case E::value: break;
    }
    return true;  // keep every value; the verdict comes after the parse
  }
  bool found() const { return found_; }
  const std::string& duplicate() const { return duplicate_; }

 private:
  bool found_ = false;
  std::vector<std::set<std::string>> open_;
  std::string duplicate_;
};

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
    auto check = std::make_shared<DuplicateKeyCheck>();
    nlohmann::json j = nlohmann::json::parse(
        text.begin(), text.end(),
        [check](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
          return (*check)(depth, event, parsed);
        });
    if (check->found()) {
      std::string key = check->duplicate();
      if (key.size() > 64) key = key.substr(0, 64) + "...";
      return Status(Code::kInvalidArgument, "JSON object has the key \"" + key + "\" twice");
    }
    return j;
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
