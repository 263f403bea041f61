#include "edgefed/ml/partition.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <numeric>

#include "edgefed/ml/idx_reader.hpp"

using namespace edgefed::ml;

namespace {

// The real Fashion-MNIST training labels (installed on dev and CI machines),
// or 60,000 balanced synthetic labels if the data set is missing.
const std::vector<int32_t>& labels() {
  static const std::vector<int32_t> l = [] {
    auto r = read_idx_labels("/usr/share/datasets/fashion-mnist", IdxSplit::kTrain);
    if (r) return std::move(r).value();
    std::vector<int32_t> v(60000);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>((i * 7919) % 10);
    return v;
  }();
  return l;
}

PartitionSpec spec_for(const std::string& scheme) {
  PartitionSpec s;
  s.count = 100;
  s.seed = 7;
  if (scheme == "dirichlet:0.5") { s.scheme = PartitionScheme::kDirichlet; s.alpha = 0.5; }
  if (scheme == "dirichlet:0.1") { s.scheme = PartitionScheme::kDirichlet; s.alpha = 0.1; }
  if (scheme == "shards:2") { s.scheme = PartitionScheme::kShards; s.shards = 2; }
  return s;
}

// Mean over agents of the largest class share of the agent's slice.
double mean_top_class_share(const std::vector<std::vector<uint32_t>>& slices) {
  double sum = 0;
  for (const auto& s : slices) {
    std::vector<int> c(10, 0);
    for (uint32_t i : s) ++c[static_cast<size_t>(labels()[i])];
    sum += static_cast<double>(*std::max_element(c.begin(), c.end())) / static_cast<double>(s.size());
  }
  return sum / static_cast<double>(slices.size());
}

}  // namespace

TEST_CASE("partitions are deterministic, disjoint and cover every sample across 100 agents", "[unit][partition]") {
  const std::string scheme = GENERATE("iid", "dirichlet:0.5", "dirichlet:0.1", "shards:2");
  CAPTURE(scheme);
  const PartitionSpec spec = spec_for(scheme);
  auto a = partition_all(labels(), 10, spec);
  auto b = partition_all(labels(), 10, spec);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK(*a == *b);
  REQUIRE(a->size() == 100);
  std::vector<int> seen(labels().size(), 0);
  for (const auto& slice : *a) {
    CHECK(slice.size() >= 10);
    CHECK(std::is_sorted(slice.begin(), slice.end()));
    for (uint32_t i : slice) ++seen.at(i);
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));

  SECTION("one agent computes its own slice alone") {
    PartitionSpec one = spec;
    one.index = 42;
    auto s = partition_one(labels(), 10, one);
    REQUIRE(s.is_ok());
    CHECK(*s == (*a)[42]);
  }
  SECTION("another seed gives other slices") {
    PartitionSpec other = spec;
    other.seed = 8;
    auto c = partition_all(labels(), 10, other);
    REQUIRE(c.is_ok());
    CHECK(*c != *a);
  }
}

TEST_CASE("iid slices are balanced while dirichlet and shards skew the label mix", "[unit][partition]") {
  auto iid = partition_all(labels(), 10, spec_for("iid"));
  auto d05 = partition_all(labels(), 10, spec_for("dirichlet:0.5"));
  auto d01 = partition_all(labels(), 10, spec_for("dirichlet:0.1"));
  auto sh = partition_all(labels(), 10, spec_for("shards:2"));
  REQUIRE((iid.is_ok() && d05.is_ok() && d01.is_ok() && sh.is_ok()));
  for (const auto& s : *iid) CHECK(s.size() == 600);
  const double top_iid = mean_top_class_share(*iid);
  const double top_d05 = mean_top_class_share(*d05);
  const double top_d01 = mean_top_class_share(*d01);
  const double top_sh = mean_top_class_share(*sh);
  INFO("top class share: iid " << top_iid << ", dir0.5 " << top_d05 << ", dir0.1 " << top_d01 << ", shards " << top_sh);
  CHECK(top_iid < 0.2);
  CHECK(top_d05 > 0.35);
  CHECK(top_d01 > top_d05);
  CHECK(top_sh >= 0.5);  // two shards of sorted labels: at most ~2-3 classes each
  // Dirichlet slices differ in size too.
  const auto [mn, mx] = std::minmax_element(d05->begin(), d05->end(),
                                            [](const auto& x, const auto& y) { return x.size() < y.size(); });
  CHECK(mx->size() > 2 * mn->size());
}

TEST_CASE("bad partition requests are refused with a reason", "[unit][partition]") {
  std::vector<int32_t> few{0, 1, 2};
  PartitionSpec s;
  s.count = 4;
  auto r = partition_all(few, 3, s);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.status().message(), Catch::Contains("3 samples"));
  s.count = 1;
  auto bad_label = partition_all(std::vector<int32_t>{0, 5}, 3, s);
  REQUIRE_FALSE(bad_label.is_ok());
  CHECK_THAT(bad_label.status().message(), Catch::Contains("label 5"));
  s.index = 3;
  CHECK_FALSE(partition_one(few, 3, s).is_ok());
  s.index = 0;
  s.scheme = PartitionScheme::kDirichlet;
  s.alpha = 0;
  CHECK_FALSE(partition_all(few, 3, s).is_ok());
}

TEST_CASE("validation split holds out a deterministic disjoint fraction", "[unit][partition]") {
  std::vector<uint32_t> rows(600);
  std::iota(rows.begin(), rows.end(), 1000u);
  const Split a = split_validation(rows, 0.1, 3);
  const Split b = split_validation(rows, 0.1, 3);
  CHECK(a.validation.size() == 60);
  CHECK(a.train.size() == 540);
  CHECK(a.train == b.train);
  CHECK(a.validation == b.validation);
  std::vector<uint32_t> all = a.train;
  all.insert(all.end(), a.validation.begin(), a.validation.end());
  std::sort(all.begin(), all.end());
  CHECK(all == rows);
  CHECK(split_validation(rows, 0.0, 3).validation.empty());
  const std::vector<uint32_t> two{4, 9};
  CHECK(split_validation(two, 0.01, 1).validation.size() == 1);
  CHECK(split_validation(two, 0.01, 1).train.size() == 1);
}
