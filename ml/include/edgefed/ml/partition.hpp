// Splitting a labelled data set between `count` agents, deterministically in
// a seed: every agent computes its own slice from the labels alone and gets
// the same slice on every run; slices are disjoint and together cover every
// sample (for dirichlet, see below).
//
//   iid          shuffle, cut into `count` near-equal parts
//   dirichlet:a  per class, proportions ~ Dirichlet(a) over agents (smaller a
//                = more skew); resampled until every agent holds at least
//                min(10, n / count) samples, as in the NIID-Bench recipe
//   shards:k     sort by label, cut into count*k shards, deal k to each agent
//
// Randomness comes from our own generator (rng.hpp), not std:: distributions,
// so slices do not change with the standard library.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::ml {

enum class PartitionScheme { kIid, kDirichlet, kShards };

struct PartitionSpec {
  int index = 0;  // this agent, 0 <= index < count
  int count = 1;  // agents sharing the data
  PartitionScheme scheme = PartitionScheme::kIid;
  double alpha = 0.5;  // dirichlet concentration, > 0
  int shards = 2;      // shards per agent, >= 1
  uint64_t seed = 0;
};

// "iid", "dirichlet:0.5", "shards:2" (for logs and JSON).
std::string describe(const PartitionSpec& spec);

// The slices of all `spec.count` agents (spec.index is ignored), each sorted
// ascending. Fails on bad parameters, labels outside [0, num_classes), or
// fewer samples than agents.
Result<std::vector<std::vector<uint32_t>>> partition_all(std::span<const int32_t> labels,
                                                         int num_classes, const PartitionSpec& spec);
// The slice of agent spec.index alone (same result as partition_all()[index]).
Result<std::vector<uint32_t>> partition_one(std::span<const int32_t> labels, int num_classes,
                                            const PartitionSpec& spec);

struct Split {
  std::vector<uint32_t> train;
  std::vector<uint32_t> validation;
};
// Holds out round(fraction * size) of `rows` (at least 1 if fraction > 0 and
// rows has 2+ entries) as a local validation set, chosen by `seed`.
// REQUIRES: 0 <= fraction < 1.
Split split_validation(std::span<const uint32_t> rows, double fraction, uint64_t seed);

}  // namespace edgefed::ml
