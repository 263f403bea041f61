// The SecAgg+ messages' JSON: canonical round trips, and strict parsing
// that refuses malformed input with a one-line kInvalidArgument naming the
// member, never an exception.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"
#include "edgefed/secagg/messages.hpp"

using namespace edgefed;
using namespace edgefed::secagg;
using nlohmann::json;

namespace {

Key32 filled(std::uint8_t b) {
  Key32 k{};
  k.fill(b);
  return k;
}

ShamirShare share_for(AgentId x, std::uint8_t fill) {
  ShamirShare s;
  s.x = x;
  s.threshold = 3;
  for (std::size_t i = 0; i < s.y.size(); ++i) s.y[i] = fill * 1000u + i;
  return s;
}

template <typename M>
void check_refused(const json& j, std::string_view mentions) {
  const auto r = M::from_json(j);
  INFO(j.dump());
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().message().find('\n') == std::string::npos);
  INFO(r.status().message());
  CHECK(r.status().message().find(mentions) != std::string::npos);
}

template <typename M>
M round_trip(const M& m) {
  const std::string text = m.to_json().dump();
  auto j = parse_json(text);
  REQUIRE(j.is_ok());
  auto back = M::from_json(*j);
  INFO(back.status().to_string());
  REQUIRE(back.is_ok());
  CHECK(*back == m);
  CHECK(back->to_json().dump() == text);
  return *back;
}

}  // namespace

TEST_CASE("secagg messages: every type round-trips through its JSON text", "[unit][secagg][messages]") {
  round_trip(AdvertiseKeys{"round-1", 5, filled(1), filled(2), 120});
  round_trip(RoundSetup{"round-1",
                        5,
                        filled(3),
                        2,
                        2,
                        {2, 5, 9},
                        {{2, filled(4), filled(5), 10}, {9, filled(6), filled(7), 30}},
                        0.375,
                        3,
                        1.5,
                        1000});
  round_trip(ShareUpload{"round-1",
                         5,
                         {{2, std::vector<std::uint8_t>(kShareEnvelopeBytes, 7)},
                          {9, std::vector<std::uint8_t>(kShareEnvelopeBytes, 8)}}});
  round_trip(ShareDelivery{"round-1", 5, {2, 5, 9}, {{2, std::vector<std::uint8_t>(kShareEnvelopeBytes, 9)}}});
  round_trip(MaskedInput{"round-1", 5, {0, 1, 0xffffffffu, 0x80000000u, 12345}});
  round_trip(UnmaskRequest{"round-1", 5, {2, 5}, {9}});
  round_trip(UnmaskResponse{"round-1", 5, {{2, share_for(5, 1)}}, {{9, share_for(5, 2)}}});
  // The masked vector: base64 of little-endian words, with its length.
  const json j = MaskedInput{"r", 1, {1, 0x04030201u}}.to_json();
  CHECK(j.at("length") == 2);
  CHECK(j.at("values") == "AQAAAAECAwQ=");
}

TEST_CASE("secagg messages: strict parsing refuses malformed input", "[unit][secagg][messages]") {
  const json advert = AdvertiseKeys{"round-1", 5, filled(1), filled(2), 120}.to_json();
  auto with = [](json j, const std::string& key, json value) {
    j[key] = std::move(value);
    return j;
  };
  auto without = [](json j, const std::string& key) {
    j.erase(key);
    return j;
  };
  check_refused<AdvertiseKeys>(json::array(), "must be a JSON object");
  check_refused<AdvertiseKeys>(json(nullptr), "must be a JSON object");
  check_refused<AdvertiseKeys>(with(advert, "extra", 1), "unknown member \"extra\"");
  check_refused<AdvertiseKeys>(without(advert, "num_samples"), "advertise_keys.num_samples: missing");
  check_refused<AdvertiseKeys>(with(advert, "type", "masked_input"), "advertise_keys.type");
  check_refused<AdvertiseKeys>(with(advert, "agent", 0), "advertise_keys.agent");
  check_refused<AdvertiseKeys>(with(advert, "agent", -3), "advertise_keys.agent");
  check_refused<AdvertiseKeys>(with(advert, "agent", 2.5), "advertise_keys.agent");
  check_refused<AdvertiseKeys>(with(advert, "agent", "5"), "advertise_keys.agent");
  check_refused<AdvertiseKeys>(with(advert, "agent", kMaxAgentId + 1), "advertise_keys.agent");
  check_refused<AdvertiseKeys>(with(advert, "num_samples", 0), "advertise_keys.num_samples");
  check_refused<AdvertiseKeys>(with(advert, "session", ""), "advertise_keys.session");
  check_refused<AdvertiseKeys>(with(advert, "session", "round 1"), "advertise_keys.session");
  check_refused<AdvertiseKeys>(with(advert, "session", std::string(129, 'a')), "advertise_keys.session");
  check_refused<AdvertiseKeys>(with(advert, "enc_public_key", "AAAA"), "must be 32 bytes");
  check_refused<AdvertiseKeys>(with(advert, "enc_public_key", 7), "advertise_keys.enc_public_key");
  // Base64: only the canonical text of the bytes.
  std::string key_text = advert.at("mask_public_key").get<std::string>();
  check_refused<AdvertiseKeys>(with(advert, "mask_public_key", key_text.substr(0, 43)), "canonical base64");
  std::string spaced = key_text;
  spaced[0] = ' ';
  check_refused<AdvertiseKeys>(with(advert, "mask_public_key", spaced), "canonical base64");
  std::string non_canonical = key_text;
  non_canonical[42] = static_cast<char>(non_canonical[42] + 1);  // nonzero bits under the padding
  check_refused<AdvertiseKeys>(with(advert, "mask_public_key", non_canonical), "canonical base64");

  const json setup =
      RoundSetup{"round-1", 5, filled(3), 2, 2, {2, 5, 9}, {{2, filled(4), filled(5), 10}}, 0.5, 3, 1.0, 10}.to_json();
  check_refused<RoundSetup>(with(setup, "agents", json{2, 9, 5}),
                            "round_setup.agents[2]: agent ids must be strictly ascending");
  check_refused<RoundSetup>(with(setup, "agents", json{2, 2, 5}), "strictly ascending");
  check_refused<RoundSetup>(with(setup, "weight", 0), "round_setup.weight");
  check_refused<RoundSetup>(with(setup, "weight", 1.5), "round_setup.weight");
  check_refused<RoundSetup>(with(setup, "clip", -1), "round_setup.clip");
  json neighbours = setup.at("neighbours");
  neighbours[0].erase("num_samples");
  check_refused<RoundSetup>(with(setup, "neighbours", neighbours), "round_setup.neighbours[0].num_samples: missing");

  const json upload = ShareUpload{"round-1", 5, {{2, std::vector<std::uint8_t>(kShareEnvelopeBytes, 7)}}}.to_json();
  json envelopes = upload.at("envelopes");
  envelopes.push_back(envelopes[0]);
  check_refused<ShareUpload>(with(upload, "envelopes", envelopes), "share_upload.envelopes[1].to");
  envelopes = upload.at("envelopes");
  envelopes[0]["to"] = 5;
  check_refused<ShareUpload>(with(upload, "envelopes", envelopes), "to the sender itself");
  envelopes = upload.at("envelopes");
  envelopes[0]["envelope"] = "AAAA";
  check_refused<ShareUpload>(with(upload, "envelopes", envelopes), "share_upload.envelopes[0].envelope");

  const json masked = MaskedInput{"round-1", 5, {1, 2, 3}}.to_json();
  check_refused<MaskedInput>(with(masked, "length", 4), "masked_input.values: must be 16 bytes, got 12");
  check_refused<MaskedInput>(with(masked, "length", 0), "masked_input.length");
  check_refused<MaskedInput>(with(masked, "length", kMaxVectorLength + 1), "masked_input.length");

  const json response = UnmaskResponse{"round-1", 5, {{2, share_for(5, 1)}}, {}}.to_json();
  json shares = response.at("seed_shares");
  check_refused<UnmaskResponse>(with(response, "key_shares", shares), "never both");
  check_refused<UnmaskResponse>(with(response, "agent", 6), "not the sender's");
  shares[0]["share"] = "AAAA";
  check_refused<UnmaskResponse>(with(response, "seed_shares", shares), "unmask_response.seed_shares[0].share");

  // Anything at all: no exception escapes.
  for (const char* text : {"{}", "[]", "1", "\"x\"", "{\"type\":\"masked_input\",\"values\":{}}",
                           "{\"type\":\"share_upload\",\"session\":\"s\",\"agent\":1,\"envelopes\":[1,null,{}]}"}) {
    const json j = json::parse(text);
    CHECK_FALSE(AdvertiseKeys::from_json(j).is_ok());
    CHECK_FALSE(RoundSetup::from_json(j).is_ok());
    CHECK_FALSE(ShareUpload::from_json(j).is_ok());
    CHECK_FALSE(ShareDelivery::from_json(j).is_ok());
    CHECK_FALSE(MaskedInput::from_json(j).is_ok());
    CHECK_FALSE(UnmaskRequest::from_json(j).is_ok());
    CHECK_FALSE(UnmaskResponse::from_json(j).is_ok());
  }
}
