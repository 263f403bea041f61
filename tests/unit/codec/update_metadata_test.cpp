#include <catch2/catch.hpp>

#include "edgefed/protocol.hpp"

using namespace edgefed;

namespace {

std::map<std::string, std::string> good() {
  return {{"agent_id", "agent-000"},  {"update_id", "agent-000:1700000000:3"}, {"base_version", "0"},
          {"num_samples", "1"},       {"train_loss", "0.25"},                  {"encoding", "topk"},
          {"layout_fingerprint", "0123456789abcdef"}};
}

}  // namespace

TEST_CASE("to_metadata then parse_update_metadata gives the fields back", "[unit][update_metadata]") {
  UpdateMetadata m;
  m.agent_id = "node_1.edge-A";
  m.update_id = "u:1.2-3_x";
  m.base_version = 9007199254740993;  // not representable as a double
  m.num_samples = 60000;
  m.train_loss = 2.302585092994046;
  m.encoding = Encoding::kInt8;
  m.layout_fingerprint = "fedcba9876543210";
  auto md = to_metadata(m);
  CHECK(md.count("normalizer") == 0);  // optional: absent when there is none
  m.normalizer = R"({"mean":[1.5],"std":[2]})";
  md = to_metadata(m);
  CHECK(md.at("base_version") == "9007199254740993");
  auto back = parse_update_metadata(md);
  REQUIRE(back.is_ok());
  CHECK(back->agent_id == m.agent_id);
  CHECK(back->update_id == m.update_id);
  CHECK(back->base_version == m.base_version);
  CHECK(back->num_samples == m.num_samples);
  CHECK(back->train_loss == m.train_loss);
  CHECK(back->encoding == m.encoding);
  CHECK(back->layout_fingerprint == m.layout_fingerprint);
  CHECK(back->normalizer == m.normalizer);
}

TEST_CASE("parse_update_metadata accepts the edges of each field", "[unit][update_metadata]") {
  auto [key, value] = GENERATE(table<std::string, std::string>({
      {"agent_id", std::string(64, 'a')},
      {"agent_id", "0"},
      {"update_id", std::string(128, ':')},
      {"base_version", "9223372036854775807"},
      {"num_samples", "007"},
      {"train_loss", "0"},
      {"train_loss", "1e300"},
      {"train_loss", "3.5E-7"},
      {"encoding", "f32"},
      {"encoding", "f16"},
      {"encoding", "int8"},
      {"layout_fingerprint", "abcdef0123456789"},
  }));
  auto md = good();
  md[key] = value;
  md["unknown_key"] = "ignored";  // later versions may add fields
  INFO(key << " = " << value);
  CHECK(parse_update_metadata(md).is_ok());
}

TEST_CASE("parse_update_metadata refuses bad fields, naming them", "[unit][update_metadata][bad]") {
  auto [key, value] = GENERATE(table<std::string, std::string>({
      {"agent_id", ""},
      {"agent_id", "-agent"},
      {"agent_id", "agent 1"},
      {"agent_id", "agent/1"},
      {"agent_id", std::string(65, 'a')},
      {"agent_id", "agent\xc3\xa9"},
      {"update_id", ""},
      {"update_id", "a b"},
      {"update_id", std::string(129, 'u')},
      {"base_version", ""},
      {"base_version", "-1"},
      {"base_version", "+1"},
      {"base_version", " 1"},
      {"base_version", "1 "},
      {"base_version", "1x"},
      {"base_version", "1.0"},
      {"base_version", "1e3"},
      {"base_version", "0x10"},
      {"base_version", "9223372036854775808"},
      {"base_version", "99999999999999999999999"},
      {"num_samples", "0"},
      {"num_samples", "-5"},
      {"train_loss", ""},
      {"train_loss", "nan"},
      {"train_loss", "inf"},
      {"train_loss", "-inf"},
      {"train_loss", "-0.5"},
      {"train_loss", "1e999"},
      {"train_loss", "0.5 "},
      {"train_loss", "0,5"},
      {"train_loss", "+0.5"},
      {"encoding", "F32"},
      {"encoding", "bf16"},
      {"encoding", ""},
      {"layout_fingerprint", "0123456789abcde"},
      {"layout_fingerprint", "0123456789abcdef0"},
      {"layout_fingerprint", "0123456789abcdeg"},
      {"layout_fingerprint", "0123456789ABCDEF"},
      {"normalizer", ""},
      {"normalizer", "[1,2]"},
      {"normalizer", "{\"mean\":[1]"},
      {"normalizer", "{" + std::string(kMaxNormalizerBytes, ' ') + "}"},
  }));
  auto md = good();
  md[key] = value;
  INFO(key << " = '" << value << "'");
  auto r = parse_update_metadata(md);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK_THAT(r.status().message(), Catch::StartsWith("update metadata." + key + ": "));
}

TEST_CASE("parse_update_metadata names a missing field", "[unit][update_metadata][bad]") {
  const auto key = GENERATE(as<std::string>{}, "agent_id", "update_id", "base_version", "num_samples", "train_loss",
                            "encoding", "layout_fingerprint");
  auto md = good();
  md.erase(key);
  auto r = parse_update_metadata(md);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message() == "update metadata." + key + ": is missing");
}
