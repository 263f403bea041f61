#include <cmath>

#include <catch2/catch.hpp>

#include "agent/serve/serving_rule.hpp"

namespace {

using edgefed::agent::ServingMetric;
using edgefed::agent::ServingRule;
using edgefed::agent::Validation;

Validation acc(int64_t version, double value, int64_t samples = 100) {
  return {.version = version, .metric = ServingMetric::kAccuracy, .value = value, .samples = samples};
}
Validation loss(int64_t version, double value, int64_t samples = 100) {
  return {.version = version, .metric = ServingMetric::kLoss, .value = value, .samples = samples};
}

}  // namespace

TEST_CASE("a version more than 2 points less accurate is not served, one within 2 points is", "[unit]") {
  const ServingRule rule;  // default 0.02
  const Validation served = acc(4, 0.85);
  auto worse = rule.judge(acc(5, 0.82), &served);
  CHECK_FALSE(worse.accept);
  CHECK(std::abs(worse.worse_by - 0.03) < 1e-12);
  CHECK(worse.reason.find("accuracy 0.8200 vs 0.8500") != std::string::npos);
  CHECK(rule.judge(acc(5, 0.835), &served).accept);
  CHECK(rule.judge(acc(5, 0.90), &served).accept);
  CHECK(rule.judge(acc(5, 0.90), &served).worse_by < 0);
  // A stricter threshold refuses the small drop.
  CHECK_FALSE(ServingRule(0.01).judge(acc(5, 0.835), &served).accept);
}

TEST_CASE("loss-judged models are refused on a relative rise above the threshold", "[unit]") {
  const ServingRule rule(0.02);
  const Validation served = loss(2, 0.50);
  CHECK(rule.judge(loss(3, 0.505), &served).accept);       // +1 %
  CHECK_FALSE(rule.judge(loss(3, 0.52), &served).accept);  // +4 %
  CHECK(rule.judge(loss(3, 0.40), &served).accept);
  CHECK_FALSE(rule.judge(loss(3, NAN), &served).accept);
}

TEST_CASE("without a served model or holdout samples every version is served", "[unit]") {
  const ServingRule rule;
  CHECK(rule.judge(acc(1, 0.1), nullptr).accept);
  const Validation served = acc(1, 0.9);
  auto v = rule.judge(acc(2, 0.1, 0), &served);
  CHECK(v.accept);
  CHECK(v.reason == "no holdout samples to validate on");
  CHECK_FALSE(rule.judge(acc(2, NAN), &served).accept);
}

TEST_CASE("validation_of picks accuracy for classifiers and the loss otherwise", "[unit]") {
  edgefed::ml::EvalResult e;
  e.accuracy = 0.8;
  e.loss = 0.6;
  e.num_samples = 60;
  auto c = ServingRule::validation_of(7, edgefed::ml::TaskType::kClassification, e);
  CHECK(c.metric == ServingMetric::kAccuracy);
  CHECK(c.value == 0.8);
  CHECK(c.samples == 60);
  auto r = ServingRule::validation_of(7, edgefed::ml::TaskType::kRegression, e);
  CHECK(r.metric == ServingMetric::kLoss);
  CHECK(r.value == 0.6);
}
