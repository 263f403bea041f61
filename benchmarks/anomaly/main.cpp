// edgefed-bench-anomaly: scores a trained autoencoder as an anomaly detector
// on a simulated sensor fleet (edgefed-sim --data series:... with
// --corrupt-agents and --corrupt-mode stuck|spikes|drift).
//
//   edgefed-bench-anomaly --model MODEL.safetensors --data SERIES_SPEC --agents N
//       --faulty 0,5 --fault stuck [--test-data SPEC] [--threshold T] [--json]
//
// Every agent's windows are rebuilt exactly as the sim's agents built them
// (SPEC:i/N:seed=S, plus :fault=F for the faulty ones; the per-window fault
// flags come from the series reader). A window is flagged when its
// reconstruction error is above the threshold: --threshold, else the robust
// threshold (median + 3 x 1.4826 x MAD) of the errors on --test-data (a clean
// held-out series), else of the clean agents' windows. Prints precision and
// recall over every window of every agent (positives: windows holding a
// faulty reading), per-agent flag rates, and with --json one JSON object last.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "edgefed/ml/data_spec.hpp"
#include "edgefed/ml/evaluator.hpp"
#include "edgefed/ml/local_data.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/trainer.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/options.hpp"

extern char** environ;

namespace {

using namespace edgefed;
using namespace edgefed::ml;

struct Flags {
  std::string model, data, test_data, faulty, fault = "stuck";
  int agents = 0;
  uint64_t seed = 1;
  double threshold = 0;
  bool json = false;
};

Model load_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--model: cannot read " + path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto m = decode_model({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  if (!m) throw ConfigError("--model: " + m.status().to_string());
  return std::move(m->model);
}

struct AgentWindows {
  std::vector<float> errors;
  std::vector<uint8_t> faulty;
};

AgentWindows agent_windows(Trainer& t, const Model& m, const Flags& f, int i, bool broken) {
  std::string text = f.data + ":" + std::to_string(i) + "/" + std::to_string(f.agents) + ":seed=" + std::to_string(f.seed);
  if (broken) text += ":fault=" + f.fault;
  auto spec = parse_data_spec(text);
  if (!spec) throw ConfigError("--data: " + spec.status().to_string());
  auto local = load_local_data(*spec);
  if (!local) throw ConfigError(text + ": " + local.status().to_string());
  if (!local->series) throw ConfigError("--data must be a series: spec");
  AgentWindows w;
  for (const Dataset* d : {&local->train, &local->validation}) {
    if (d->empty()) continue;
    auto e = t.sample_losses(m, *d);
    if (!e) throw ConfigError(text + ": " + e.status().to_string());
    w.errors.insert(w.errors.end(), e->begin(), e->end());
  }
  w.faulty = local->series->train_faulty;
  w.faulty.insert(w.faulty.end(), local->series->validation_faulty.begin(), local->series->validation_faulty.end());
  if (w.faulty.size() != w.errors.size()) throw ConfigError(text + ": fault flags do not match the windows");
  return w;
}

int run(const Flags& f) {
  const Model model = load_model(f.model);
  auto spec = ModelSpec::of_layout(model.layout);
  if (!spec) throw ConfigError("--model: " + spec.status().to_string());
  if (spec->task() != TaskType::kAutoencoder) throw ConfigError("--model: " + spec->describe() + " is not an autoencoder");
  if (f.agents < 1) throw ConfigError("--agents must be >= 1");
  std::set<int> faulty;
  std::stringstream list(f.faulty);
  for (std::string tok; std::getline(list, tok, ',');)
    if (!tok.empty()) faulty.insert(std::stoi(tok));
  Trainer trainer = Trainer::create(*spec);

  std::vector<AgentWindows> windows;
  for (int i = 0; i < f.agents; ++i) windows.push_back(agent_windows(trainer, model, f, i, faulty.count(i) > 0));
  double threshold = f.threshold;
  std::string threshold_source = "given";
  if (threshold <= 0 && !f.test_data.empty()) {
    auto ev = Evaluator::open(f.test_data);
    if (!ev) throw ConfigError("--test-data: " + ev.status().to_string());
    auto e = trainer.sample_losses(model, ev->data());
    if (!e) throw ConfigError("--test-data: " + e.status().to_string());
    threshold = robust_threshold(*e);
    threshold_source = "robust, test data";
  } else if (threshold <= 0) {
    std::vector<float> clean;
    for (int i = 0; i < f.agents; ++i)
      if (!faulty.count(i)) clean.insert(clean.end(), windows[i].errors.begin(), windows[i].errors.end());
    threshold = robust_threshold(std::move(clean));
    threshold_source = "robust, clean agents";
  }
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  nlohmann::json per_agent = nlohmann::json::array();
  for (int i = 0; i < f.agents; ++i) {
    int64_t flagged = 0, bad = 0;
    const auto& w = windows[i];
    for (size_t k = 0; k < w.errors.size(); ++k) {
      const bool flag = w.errors[k] > threshold, truth = w.faulty[k] != 0;
      flagged += flag;
      bad += truth;
      tp += flag && truth;
      fp += flag && !truth;
      fn += !flag && truth;
      tn += !flag && !truth;
    }
    per_agent.push_back({{"agent", i}, {"faulty", faulty.count(i) > 0}, {"windows", w.errors.size()},
                         {"faulty_windows", bad}, {"flagged", flagged}});
  }
  const double precision = tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0;
  const double recall = tp + fn ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0;
  std::printf("edgefed-bench-anomaly: %s, %d agents (faulty: %s, %s), threshold %.4g (%s)\n", spec->describe().c_str(),
              f.agents, f.faulty.c_str(), f.fault.c_str(), threshold, threshold_source.c_str());
  std::printf("  windows: %lld faulty, %lld clean; flagged %lld\n", static_cast<long long>(tp + fn),
              static_cast<long long>(fp + tn), static_cast<long long>(tp + fp));
  std::printf("  precision %.3f, recall %.3f (tp %lld, fp %lld, fn %lld, tn %lld)\n", precision, recall,
              static_cast<long long>(tp), static_cast<long long>(fp), static_cast<long long>(fn),
              static_cast<long long>(tn));
  if (f.json) {
    nlohmann::json j = {{"benchmark", "anomaly"}, {"model", spec->describe()}, {"agents", f.agents},
                        {"faulty_agents", f.faulty}, {"fault", f.fault}, {"threshold", threshold},
                        {"threshold_source", threshold_source}, {"precision", precision}, {"recall", recall},
                        {"tp", tp}, {"fp", fp}, {"fn", fn}, {"tn", tn}, {"per_agent", per_agent}};
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  Options o("edgefed-bench-anomaly", "Precision and recall of a fleet autoencoder on its broken sensors' windows.");
  o.bind("model", &f.model, "the trained autoencoder (a model file: an agent's model.safetensors)");
  o.bind("data", &f.data, "the fleet's series data spec, without a partition (as edgefed-sim --data)");
  o.bind("agents", &f.agents, "fleet size (as edgefed-sim --agents)");
  o.bind("faulty", &f.faulty, "indices of the agents with a broken sensor (as --corrupt-agents)");
  o.bind("fault", &f.fault, "stuck, spikes or drift (as --corrupt-mode)");
  o.bind("seed", &f.seed, "the sim's --seed");
  o.bind("test-data", &f.test_data, "a clean held-out series spec the threshold is set on");
  o.bind("threshold", &f.threshold, "a fixed reconstruction-error threshold (0 = robust)");
  o.bind("json", &f.json, "print one JSON object on the last line");
  try {
    o.parse(argc, argv, environ);
    if (o.help_requested()) {
      std::cout << o.help_text();
      return 0;
    }
    return run(f);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "edgefed-bench-anomaly: %s\n", e.what());
    return 2;
  }
}
