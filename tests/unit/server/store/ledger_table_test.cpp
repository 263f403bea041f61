#include <catch2/catch.hpp>

#include "server/store/store.hpp"
#include "temp_dir.hpp"

using namespace edgefed::server;
using edgefed::Code;

namespace {

LedgerEntry entry(const std::string& agent, const std::string& id, double weight) {
  LedgerEntry e;
  e.agent = agent;
  e.update_id = id;
  e.body_digest = "h-" + id;
  e.num_samples = 10;
  e.weight = weight;
  e.ack_json = R"({"version":0})";
  return e;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("ledger: insert, find, unique (agent, update_id)", "[unit][store]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  LedgerTable& ledger = (*store)->ledger();
  auto id = ledger.insert(entry("a1", "u1", 2.5), bytes("body-1"));
  REQUIRE(id.is_ok());
  auto found = ledger.find("a1", "u1");
  REQUIRE(found.is_ok());
  REQUIRE(found->has_value());
  CHECK((*found)->weight == 2.5);
  CHECK((*found)->ack_json == R"({"version":0})");
  CHECK(!(*found)->consumed_by_version.has_value());
  CHECK(!ledger.find("a1", "u2")->has_value());
  CHECK(!ledger.find("a2", "u1")->has_value());
  // Same update id, other agent: fine. Same pair again: conflict.
  CHECK(ledger.insert(entry("a2", "u1", 1), bytes("x")).is_ok());
  CHECK(ledger.insert(entry("a1", "u1", 1), bytes("x")).status().code() == Code::kConflict);
}

TEST_CASE("ledger: pending rows carry payloads until consumed", "[unit][store]") {
  edgefed::testing::TempDir dir;
  auto store = Store::open(dir.path(), {.fsync_full = false});
  REQUIRE(store.is_ok());
  LedgerTable& ledger = (*store)->ledger();
  REQUIRE(ledger.insert(entry("a", "1", 1), bytes("one")).is_ok());
  REQUIRE(ledger.insert(entry("b", "2", 2), bytes("two")).is_ok());
  std::vector<std::string> seen;
  REQUIRE(ledger.for_each_pending([&](const LedgerEntry& e, std::span<const uint8_t> p) {
    seen.push_back(e.agent + ":" + std::string(p.begin(), p.end()));
    return edgefed::Status::ok();
  }).is_ok());
  CHECK(seen == std::vector<std::string>{"a:one", "b:two"});
  CHECK(*ledger.consume_pending(7) == 2);
  REQUIRE(ledger.insert(entry("c", "3", 3), bytes("three")).is_ok());
  CHECK(*ledger.consume_pending(kDiscarded) == 1);
  seen.clear();
  REQUIRE(ledger.for_each_pending([&](const LedgerEntry&, std::span<const uint8_t>) {
    seen.push_back("x");
    return edgefed::Status::ok();
  }).is_ok());
  CHECK(seen.empty());
  auto merged = ledger.merged_into(7);
  REQUIRE(merged.is_ok());
  REQUIRE(merged->size() == 2);
  CHECK((*merged)[1].agent == "b");
  CHECK((*merged)[1].weight == 2);
  CHECK(*ledger.count_accepted() == 3);
  CHECK(*ledger.count_merged() == 2);
  CHECK(*(*ledger.find("a", "1"))->consumed_by_version == 7);
}
