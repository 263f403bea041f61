// edgefed-bench-train: how fast the agent's trainer learns on real
// Fashion-MNIST, and how much memory it needs.
//   throughput:  edgefed-bench-train --layers 784,128,10 --batch 32 --threads 1 --json
//   central:     edgefed-bench-train --central --epochs 10 --json
//   600 images:  edgefed-bench-train --data idx:/usr/share/datasets/fashion-mnist:3/100:iid --epochs 5 --json
// Human-readable lines first; with --json one JSON object on the last line.
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>

#include "edgefed/ml/idx_reader.hpp"
#include "edgefed/ml/local_data.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/trainer.hpp"
#include "edgefed/options.hpp"
#include "rss.hpp"

extern char** environ;

namespace {

using namespace edgefed;
using namespace edgefed::ml;

struct Loaded {
  Dataset train;
  Dataset test;  // empty unless --central
};

// The command line; the initial values are the defaults.
struct Flags {
  std::string layers = "784,128,10", model, data, data_dir = "/usr/share/datasets/fashion-mnist", lr_schedule = "constant";
  int batch = 32, threads = 1, epochs = 1;
  int64_t samples = 0;
  bool central = false, json = false;
  double lr = 0.05, momentum = 0.9, weight_decay = 0;
  uint64_t seed = 1;
};

// The training set as the benchmark asks for it: an agent's --data slice, the
// first --samples images, or all 60,000 (only the kept images are held).
Loaded load(const Flags& opt) {
  Loaded out;
  const std::string dir = opt.data_dir;
  if (!opt.data.empty()) {
    auto spec = parse_data_spec(opt.data);
    if (!spec) throw ConfigError(spec.status().to_string());
    auto local = load_local_data(*spec);
    if (!local) throw ConfigError(local.status().to_string());
    out.train = std::move(local->train);
  } else {
    const int64_t samples = opt.samples;
    std::vector<uint32_t> rows(static_cast<size_t>(std::max<int64_t>(samples, 0)));
    std::iota(rows.begin(), rows.end(), 0u);
    auto store = load_idx(dir, IdxSplit::kTrain, samples > 0 ? &rows : nullptr);
    if (!store) throw ConfigError(store.status().to_string());
    out.train = Dataset::own(std::move(store).value());
  }
  if (opt.central) {
    auto test = load_idx(dir, IdxSplit::kTest);
    if (!test) throw ConfigError(test.status().to_string());
    out.test = Dataset::own(std::move(test).value());
  }
  return out;
}

int run(const Flags& opt) {
  std::string layers = opt.layers;
  std::replace(layers.begin(), layers.end(), ',', '-');
  // --model (a preset or spec file) or the MLP of --layers.
  auto spec = ModelSpec::load(opt.model.empty() ? "mlp:" + layers : opt.model);
  if (!spec) throw ConfigError(spec.status().to_string());
  const int threads = opt.threads;
  Eigen::setNbThreads(threads);  // Eigen without OpenMP runs its products on one thread anyway
  std::optional<Trainer> trainer(Trainer::create(*spec));

  const auto t_load = std::chrono::steady_clock::now();
  Loaded data = load(opt);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

  TrainOptions o;
  o.epochs = 1;  // one epoch per call, so the central run can evaluate after each
  o.batch_size = opt.batch;
  o.lr = static_cast<float>(opt.lr);
  o.momentum = static_cast<float>(opt.momentum);
  o.weight_decay = static_cast<float>(opt.weight_decay);
  const int epochs = opt.epochs;
  const uint64_t seed = opt.seed;
  Model model = spec->init(seed);
  const std::string schedule = opt.lr_schedule;
  if (schedule != "constant" && schedule != "cosine") throw ConfigError("--lr-schedule must be constant or cosine");
  const bool cosine = schedule == "cosine";
  const double base_lr = o.lr;

  std::printf("edgefed-bench-train: %s, %lld training images, batch %d, lr %g (%s), momentum %g, %d thread(s), "
              "%s build, %s kernel\n", spec->describe().c_str(), static_cast<long long>(data.train.size()),
              o.batch_size, base_lr, schedule.c_str(), o.momentum, threads, EDGEFED_BENCH_ARCH, kernel_isa());
  std::printf("  data loaded in %.2f s\n", load_s);
  nlohmann::json acc_by_epoch = nlohmann::json::array();
  double train_s = 0, loss = 0;
  int64_t seen = 0;
  EvalResult last_eval;
  for (int e = 0; e < epochs; ++e) {
    o.seed = seed * 1000 + static_cast<uint64_t>(e);
    if (cosine) o.lr = static_cast<float>(base_lr * 0.5 * (1.0 + std::cos(M_PI * e / epochs)));
    auto r = trainer->train(model, data.train, o);
    if (!r) throw ConfigError(r.status().to_string());
    for (size_t i = 0; i < model.params.size(); ++i) model.params[i] += r->delta[i];
    train_s += r->seconds;
    seen += r->samples_seen;
    loss = r->train_loss;
    std::printf("  epoch %2d: train loss %.4f, train acc %.4f, %.0f samples/s", e + 1, r->train_loss, r->train_accuracy,
                r->samples_per_s);
    if (!data.test.empty()) {
      auto ev = trainer->evaluate(model, data.test);
      if (!ev) throw ConfigError(ev.status().to_string());
      last_eval = *ev;
      acc_by_epoch.push_back(ev->accuracy);
      std::printf(", test acc %.4f", ev->accuracy);
    }
    std::printf("\n");
  }
  const double sps = train_s > 0 ? static_cast<double>(seen) / train_s : 0;
  const double peak = bench::peak_rss_mb();
  std::printf("  %.0f samples/s over %.2f s of training; peak RSS %.1f MiB\n", sps, train_s, peak);
  if (!data.test.empty()) std::printf("  test accuracy after %d epochs: %.4f\n", epochs, last_eval.accuracy);
  std::fflush(stdout);
  if (opt.json) {
    nlohmann::json j = {{"benchmark", "train"}, {"layers", opt.model.empty() ? layers : spec->describe()}, {"model", spec->describe()},
                        {"parameters", spec->num_params()},
                        {"model_spec", nlohmann::json::parse(spec->canonical_json())}, {"batch", o.batch_size},
                        {"threads", threads}, {"arch", EDGEFED_BENCH_ARCH}, {"kernel_isa", kernel_isa()}, {"epochs", epochs},
                        {"train_samples", data.train.size()}, {"samples_per_s", sps}, {"seconds", train_s},
                        {"load_seconds", load_s}, {"train_loss", loss}, {"peak_rss_mb", peak},
                        {"lr", base_lr}, {"lr_schedule", schedule}, {"momentum", o.momentum},
                        {"threads_note", "Eigen without OpenMP: products run on one thread"}};
    if (!data.test.empty()) {
      j["test_accuracy"] = last_eval.accuracy;
      j["test_loss"] = last_eval.loss;
      j["accuracy_by_epoch"] = acc_by_epoch;
    }
    std::cout << j.dump() << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  edgefed::Options opt("edgefed-bench-train", "Local training speed, accuracy and memory of the agent's trainer.");
  Flags flags;
  opt.bind("layers", &flags.layers, "MLP layer sizes");
  opt.bind("model", &flags.model, "a model preset (cnn-fmnist, ...) or spec FILE.json instead of --layers");
  opt.bind("batch", &flags.batch, "minibatch size");
  opt.bind("threads", &flags.threads, "Eigen threads (the agent trains on one)");
  opt.bind("epochs", &flags.epochs, "passes over the training data");
  opt.bind("samples", &flags.samples, "train on the first N training images (0 = all 60,000)");
  opt.bind("data", &flags.data, "an agent --data spec to train on instead (e.g. idx:DIR:3/100:iid)");
  opt.bind("data-dir", &flags.data_dir, "Fashion-MNIST directory");
  opt.bind("central", &flags.central, "evaluate on the 10,000 test images after every epoch");
  opt.bind("lr", &flags.lr, "learning rate");
  opt.bind("lr-schedule", &flags.lr_schedule, "constant, or cosine: lr x (1 + cos(pi e / epochs)) / 2 in epoch e");
  opt.bind("momentum", &flags.momentum, "SGD momentum");
  opt.bind("weight-decay", &flags.weight_decay, "L2 weight decay");
  opt.bind("seed", &flags.seed, "initialisation and data-order seed");
  opt.bind("json", &flags.json, "print one JSON object on the last line");
  try {
    opt.parse(argc, argv, environ);
    if (opt.help_requested()) {
      std::cout << opt.help_text();
      return 0;
    }
    return run(flags);
  } catch (const edgefed::ConfigError& e) {
    std::cerr << "edgefed-bench-train: " << e.what() << "\n";
    return 2;
  }
}
