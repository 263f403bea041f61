#include "agent/serve/predict_command.hpp"

#include <cstdio>
#include <iostream>
#include <string>

#include "agent/serve/predict_input.hpp"
#include "agent/serve/predict_json.hpp"
#include "agent/serve/predictor.hpp"
#include "agent/serve/serving_model.hpp"
#include "edgefed/options.hpp"

namespace edgefed::agent {
namespace {

struct PredictCommandLine {
  std::string input;
  std::string state_dir;
  std::string model;
  InputFormat format = InputFormat::kAuto;
  std::string output = "-";
  int64_t batch = 256;
};

Options make_options(PredictCommandLine& c) {
  Options o("edgefed-agent predict",
            "Predictions of the agent's serving model for a file of inputs, one line per input:\n"
            "\"CLASS CONFIDENCE\", the regression values, or \"SCORE ANOMALY\" (autoencoders).");
  o.bind("input", &c.input, "inputs: an IDX file of images or a CSV file of numeric columns (required)");
  o.bind("state-dir", &c.state_dir, "the agent's state directory: predict with the model it serves");
  o.bind("model", &c.model, "predict with this model file instead (safetensors, e.g. GET /v1/model)");
  o.bind("format", &c.format, "input format (auto: idx for *idx* or *-ubyte[.gz] names, else csv)");
  o.bind("output", &c.output, "where the lines go (- = stdout)");
  o.bind("batch", &c.batch, "inputs per forward pass (bounds memory)").in(1, 100000);
  return o;
}

Result<std::shared_ptr<const ServedModel>> load_model(const PredictCommandLine& c) {
  if (!c.model.empty()) {
    auto served = ServingModel::read(c.model);
    if (!served) return Status(Code::kIo, "--model " + served.status().message());
    if (!*served) return Status(Code::kIo, "--model " + c.model + ": no such file");
    return std::shared_ptr<const ServedModel>(std::move(*served));
  }
  ServingModel serving(c.state_dir);
  EDGEFED_RETURN_IF_ERROR(serving.load());
  auto served = serving.current();
  if (!served)
    return Status(Code::kUnavailable, "no serving model in " + c.state_dir +
                                          " yet: the agent has not validated a version (or give --model)");
  return served;
}

}  // namespace

int run_predict_command(int argc, const char* const* argv, const char* const* env) {
  PredictCommandLine c;
  Options options = make_options(c);
  try {
    options.parse(argc, argv, env);
    if (options.help_requested()) {
      std::cout << options.help_text();
      return 0;
    }
    if (c.input.empty()) throw ConfigError("--input is required (see --help)");
    if (c.model.empty() == c.state_dir.empty())
      throw ConfigError(c.model.empty() ? "give --state-dir (the agent's) or --model"
                                        : "give --state-dir or --model, not both");
  } catch (const ConfigError& e) {
    std::cerr << "edgefed-agent predict: " << e.what() << "\n";
    return 2;
  }
  auto served = load_model(c);
  if (!served) {
    std::cerr << "edgefed-agent predict: " << served.status().message() << "\n";
    return 1;
  }
  auto inputs = read_predict_input(c.input, c.format);
  if (!inputs) {
    std::cerr << "edgefed-agent predict: " << inputs.status().message() << "\n";
    return 2;
  }
  std::FILE* out = c.output == "-" ? stdout : std::fopen(c.output.c_str(), "w");
  if (!out) {
    std::cerr << "edgefed-agent predict: cannot write " << c.output << "\n";
    return 1;
  }
  Predictor predictor;
  int rc = 0;
  for (int64_t first = 0; first < inputs->rows() && rc == 0; first += c.batch) {
    const int64_t n = std::min<int64_t>(c.batch, inputs->rows() - first);
    auto batch = predictor.predict(**served, ml::FeatureMatrix(inputs->middleRows(first, n)));
    if (!batch) {
      std::cerr << "edgefed-agent predict: " << batch.status().message() << "\n";
      rc = 2;
      break;
    }
    for (size_t i = 0; i < batch->rows.size(); ++i) std::fprintf(out, "%s\n", prediction_line(*batch, i).c_str());
  }
  if (std::fflush(out) != 0 || (out != stdout && std::fclose(out) != 0)) {
    std::cerr << "edgefed-agent predict: cannot write " << c.output << "\n";
    return 1;
  }
  return rc;
}

}  // namespace edgefed::agent
