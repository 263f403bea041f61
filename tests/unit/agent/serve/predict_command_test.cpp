#include <fstream>
#include <sstream>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/serve/predict_command.hpp"
#include "agent/serve/predict_input.hpp"
#include "agent/serve/predict_json.hpp"
#include "agent/serve/predictor.hpp"
#include "edgefed/file_io.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_io.hpp"
#include "scratch_dir.hpp"

namespace {

using edgefed::agent::run_predict_command;

int run(std::vector<std::string> args) {
  args.insert(args.begin(), "predict");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  const char* env[] = {nullptr};
  return run_predict_command(static_cast<int>(args.size()), argv.data(), env);
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("edgefed-agent predict writes one line per input from the served model", "[unit]") {
  edgefed::testing::ScratchDir dir;
  const auto spec = *edgefed::ml::ModelSpec::preset("mlp:4-8-3");
  edgefed::agent::ServingModel serving(dir.path());
  REQUIRE(serving.install(spec.init(3), {.version = 6, .value = 0.9, .samples = 5}, 0).is_ok());
  std::ofstream(dir.file("in.csv")) << "a,b,c,d\n0.1,0.2,0.3,0.4\n1,0,0,0\n0,0,2.5,-1\n";
  REQUIRE(run({"--input", dir.file("in.csv"), "--state-dir", dir.path(), "--output", dir.file("out.txt")}) == 0);
  const auto lines = lines_of(dir.file("out.txt"));
  REQUIRE(lines.size() == 3);
  auto inputs = edgefed::agent::read_predict_input(dir.file("in.csv"), edgefed::agent::InputFormat::kCsv);
  REQUIRE(inputs.is_ok());
  CHECK(inputs->rows() == 3);
  CHECK((*inputs)(2, 3) == -1.0f);
  edgefed::agent::Predictor p;
  auto expect = p.predict(*serving.current(), *inputs);
  REQUIRE(expect.is_ok());
  for (size_t i = 0; i < 3; ++i) CHECK(lines[i] == edgefed::agent::prediction_line(*expect, i));
  // Batches of one give the same lines.
  REQUIRE(run({"--input", dir.file("in.csv"), "--model", serving.path(), "--batch", "1", "--output",
               dir.file("out1.txt")}) == 0);
  CHECK(lines_of(dir.file("out1.txt")) == lines);
}

TEST_CASE("edgefed-agent predict refuses bad flags, inputs and a missing model with exit codes", "[unit]") {
  edgefed::testing::ScratchDir dir;
  std::ofstream(dir.file("in.csv")) << "1,2,3\n";
  CHECK(run({"--state-dir", dir.path()}) == 2);                                    // no --input
  CHECK(run({"--input", dir.file("in.csv")}) == 2);                                // no model source
  CHECK(run({"--input", dir.file("in.csv"), "--state-dir", dir.path()}) == 1);     // nothing served yet
  CHECK(run({"--input", dir.file("in.csv"), "--model", dir.file("none")}) == 1);   // no such model
  const auto spec = *edgefed::ml::ModelSpec::preset("mlp:4-8-3");
  REQUIRE(edgefed::write_file_atomic(dir.file("m.safetensors"), edgefed::encode_model(spec.init(1), 2)).is_ok());
  CHECK(run({"--input", dir.file("in.csv"), "--model", dir.file("m.safetensors")}) == 2);  // 3 columns, not 4
  CHECK(run({"--input", dir.file("missing.csv"), "--model", dir.file("m.safetensors")}) == 2);
  CHECK(run({"--input", dir.file("in.csv"), "--model", dir.file("m.safetensors"), "--format", "tiff"}) == 2);
}
