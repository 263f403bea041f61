// The committed examples under tests/schema/{valid,invalid}/<schema>/ are
// checked by ajv there and by the C++ parsers here, so schema and code agree
// in both directions. Metadata examples go through real safetensors files.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/safetensors.hpp"

using namespace edgefed;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The layout whose fingerprint (cd0dd58088ff2727) the metadata examples use.
const ModelLayout& layout() {
  static const ModelLayout l = ModelLayout::mlp("6-4-3").value();
  return l;
}

// A model file of layout() whose __metadata__ is replaced by `md` verbatim
// (any JSON, so non-string values reach the parser too).
std::string model_file_with_metadata(const json& md) {
  const std::string file = encode_model(Model(layout()), 0);
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);  // little-endian host (x86-64)
  json header = json::parse(file.substr(8, n));
  header["__metadata__"] = md;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t len = text.size();
  std::string out(reinterpret_cast<const char*>(&len), 8);
  return out + text + file.substr(8 + n);
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Status update_metadata_check(const json& md) {
  const std::string file = model_file_with_metadata(md);
  auto parsed = parse_safetensors(bytes(file));
  if (!parsed) return parsed.status();
  return parse_update_metadata(parsed->metadata).status();
}

Status model_metadata_check(const json& md) {
  const std::string file = model_file_with_metadata(md);
  return decode_model(bytes(file), &layout()).status();
}

using Check = std::function<Status(const json&)>;
const std::map<std::string, Check>& parsers() {
  static const std::map<std::string, Check> m = {
      {"update-ack", [](const json& j) { return parse_update_ack(j).status(); }},
      {"telemetry-ack", [](const json& j) { return parse_telemetry_ack(j).status(); }},
      {"task", [](const json& j) { return parse_task(j).status(); }},
      {"telemetry-batch", [](const json& j) { return parse_telemetry_batch(j).status(); }},
      {"status", [](const json& j) { return parse_server_status(j).status(); }},
      {"error", [](const json& j) { return parse_error_body(j).status(); }},
      {"update-metadata", update_metadata_check},
      {"model-metadata", model_metadata_check},
      {"model-spec", [](const json& j) { return edgefed::ml::ModelSpec::parse(j.dump()).status(); }},
  };
  return m;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs every example of tests/schema/<kind>/ through its parser; returns how
// many files were checked.
int check_examples(const std::string& kind, bool expect_ok) {
  const fs::path root = fs::path(EDGEFED_SOURCE_DIR) / "tests" / "schema" / kind;
  REQUIRE(fs::is_directory(root));
  int checked = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    const std::string schema = dir.path().filename().string();
    INFO("schema folder " << schema);
    const auto it = parsers().find(schema);
    REQUIRE(it != parsers().end());
    for (const auto& file : fs::directory_iterator(dir.path())) {
      if (file.path().extension() != ".json") continue;
      INFO("example " << kind << "/" << schema << "/" << file.path().filename().string());
      auto j = parse_json(slurp(file.path()));
      REQUIRE(j.is_ok());  // examples are well-formed JSON; the schema is what they break
      const Status st = it->second(*j);
      INFO("C++ says: " << st.to_string());
      CHECK(st.is_ok() == expect_ok);
      if (!expect_ok) CHECK_FALSE(st.message().empty());
      ++checked;
    }
  }
  return checked;
}

}  // namespace

TEST_CASE("C++ parsers reject every invalid schema example", "[unit][protocol][schema]") {
  CHECK(check_examples("invalid", false) >= 50);
}

TEST_CASE("C++ parsers accept every valid schema example", "[unit][protocol][schema]") {
  CHECK(check_examples("valid", true) >= 8);
}
