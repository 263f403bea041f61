// Fuzzes the JSON body parsers of wire contract v1: parse_json (the one door
// for untrusted JSON) and, on what it accepts, parse_task,
// parse_telemetry_batch, parse_telemetry_ack, parse_update_ack,
// parse_server_status and parse_error_body. The first byte picks the parser;
// the rest is the body. Oracles: every error has a message; a value a parser
// accepts serialises (to_json) to JSON that parses back to the same JSON.
#include <nlohmann/json.hpp>
#include <string_view>

#include "edgefed/protocol.hpp"
#include "fuzz_common.hpp"

using namespace edgefed;
using fuzz::bug;

namespace {

template <typename Parse>
void round_trip(const nlohmann::json& j, Parse parse) {
  auto v = parse(j);
  if (!v) {
    if (v.status().message().empty()) bug("a parse error without a message");
    return;
  }
  const nlohmann::json out = to_json(*v);
  const std::string text = out.dump();  // throws (aborts) on invalid UTF-8
  auto reparsed = parse_json(text);
  if (!reparsed) bug("to_json produced text parse_json refuses");
  auto again = parse(*reparsed);
  if (!again) bug("an accepted value does not parse again after to_json");
  if (to_json(*again) != out) bug("to_json / parse round trip changed the value");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto j = parse_json(text, 1u << 16);
  if (!j) {
    if (j.status().message().empty()) bug("parse_json error without a message");
    return 0;
  }
  switch (which % 6) {
    case 0: round_trip(*j, [](const nlohmann::json& v) { return parse_task(v); }); break;
    case 1: round_trip(*j, [](const nlohmann::json& v) { return parse_telemetry_batch(v, 64); }); break;
    case 2: round_trip(*j, [](const nlohmann::json& v) { return parse_telemetry_ack(v); }); break;
    case 3: round_trip(*j, [](const nlohmann::json& v) { return parse_update_ack(v); }); break;
    case 4: round_trip(*j, [](const nlohmann::json& v) { return parse_server_status(v); }); break;
    case 5: round_trip(*j, [](const nlohmann::json& v) { return parse_error_body(v); }); break;
  }
  return 0;
}
