#include "edgefed/ml/model_spec.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "edgefed/model_io.hpp"

using namespace edgefed;
using namespace edgefed::ml;

namespace {

const char* const kIssueExample = R"({"input": [1, 28, 28],
 "layers": [
   {"type": "conv2d", "out": 16, "kernel": 3, "stride": 1, "padding": 0},
   {"type": "relu"},
   {"type": "maxpool2d", "kernel": 2},
   {"type": "conv2d", "out": 32, "kernel": 3},
   {"type": "relu"},
   {"type": "maxpool2d", "kernel": 2},
   {"type": "flatten"},
   {"type": "dense", "out": 10}],
 "loss": "softmax_cross_entropy"})";

ModelSpec parse_ok(const std::string& text) {
  auto s = ModelSpec::parse(text);
  INFO(text << "\n" << s.status().to_string());
  REQUIRE(s.is_ok());
  return std::move(s).value();
}

// The error message of a spec that must be refused.
std::string refusal(const std::string& text) {
  auto s = ModelSpec::parse(text);
  INFO(text);
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.status().code() == Code::kInvalidArgument);
  return s.status().message();
}

std::vector<std::string> names_of(const ModelLayout& l) {
  std::vector<std::string> n;
  for (const auto& t : l.tensors()) n.push_back(t.name);
  return n;
}

}  // namespace

TEST_CASE("a conv spec gives PyTorch's tensor names and shapes", "[unit][model_spec]") {
  const ModelSpec s = parse_ok(kIssueExample);
  CHECK(s.task() == TaskType::kClassification);
  CHECK(s.input_size() == 784);
  CHECK(s.output_size() == 10);
  CHECK(s.layers()[0].out_shape == std::vector<int64_t>{16, 26, 26});
  CHECK(s.layers()[2].out_shape == std::vector<int64_t>{16, 13, 13});
  CHECK(s.layers()[5].out_shape == std::vector<int64_t>{32, 5, 5});
  CHECK(s.layers()[6].out_shape == std::vector<int64_t>{800});
  const ModelLayout l = s.layout();
  CHECK(names_of(l) == std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias",
                                                "layers.7.weight", "layers.7.bias"});
  CHECK(l.tensors()[0].shape == std::vector<int64_t>{16, 1, 3, 3});
  CHECK(l.tensors()[2].shape == std::vector<int64_t>{32, 16, 3, 3});
  CHECK(l.tensors()[4].shape == std::vector<int64_t>{10, 800});
  CHECK(s.num_params() == 16 * 9 + 16 + 32 * 16 * 9 + 32 + 10 * 800 + 10);
  CHECK(l.size() == s.num_params());
  CHECK(l.architecture() == s.canonical_json());

  const ModelSpec c1 = parse_ok(
      R"({"input":[3,20],"layers":[{"type":"conv1d","out":4,"kernel":5,"stride":2,"padding":2},{"type":"maxpool1d","kernel":2},)"
      R"({"type":"global_avgpool"},{"type":"dense","out":2}],"loss":"mse"})");
  CHECK(c1.layers()[0].out_shape == std::vector<int64_t>{4, 10});  // (20 + 4 - 5) / 2 + 1
  CHECK(c1.layers()[1].out_shape == std::vector<int64_t>{4, 5});
  CHECK(c1.layers()[2].out_shape == std::vector<int64_t>{4});
  CHECK(c1.layout().tensors()[0].shape == std::vector<int64_t>{4, 3, 5});
  CHECK(c1.task() == TaskType::kRegression);
}

TEST_CASE("the canonical text and the fingerprint cover the architecture, not the spelling", "[unit][model_spec]") {
  const ModelSpec a = parse_ok(kIssueExample);
  // Same network: defaults written out, keys in another order, no spaces.
  const ModelSpec b = parse_ok(
      R"({"loss":"softmax_cross_entropy","target":"label","layers":[{"kernel":3,"out":16,"type":"conv2d"},{"type":"relu"},)"
      R"({"type":"maxpool2d","kernel":2,"stride":2},{"type":"conv2d","out":32,"kernel":3,"padding":0,"stride":1},)"
      R"({"type":"relu"},{"type":"maxpool2d","kernel":2},{"type":"flatten"},{"type":"dense","out":10}],"input":[1,28,28]})");
  CHECK(a.canonical_json() == b.canonical_json());
  CHECK(a.layout().fingerprint() == b.layout().fingerprint());
  // The same tensors wired differently (tanh for relu) must not be confused.
  std::string tanh_text = kIssueExample;
  tanh_text.replace(tanh_text.find("relu"), 4, "tanh");
  const ModelSpec c = parse_ok(tanh_text);
  CHECK(names_of(c.layout()) == names_of(a.layout()));
  CHECK(c.layout().fingerprint() != a.layout().fingerprint());
  // Canonical text parses back to itself.
  CHECK(parse_ok(a.canonical_json()).canonical_json() == a.canonical_json());
}

TEST_CASE("the MLP presets keep their shorthand, init and legacy files", "[unit][model_spec]") {
  auto p = ModelSpec::preset("mlp:784-128-10");
  REQUIRE(p.is_ok());
  CHECK(p->name() == "mlp:784-128-10");
  CHECK(p->layout().describe() == "mlp:784-128-10");
  CHECK(names_of(p->layout()) ==
        std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"});
  auto bare = ModelSpec::load("784-128-10");
  REQUIRE(bare.is_ok());
  CHECK(bare->canonical_json() == p->canonical_json());

  // A model written before specs: layers.0 and layers.1, no architecture.
  auto legacy_layout = ModelLayout::mlp("784-128-10");
  REQUIRE(legacy_layout.is_ok());
  Model legacy = init_mlp(*legacy_layout, 7);
  const std::vector<float> values = legacy.params;
  CHECK(upgrade_legacy_mlp(legacy));
  CHECK(legacy.layout == p->layout());
  CHECK(legacy.params == values);
  CHECK(p->init(7).params == values);  // the preset initialises as before
  CHECK_FALSE(upgrade_legacy_mlp(legacy));  // already has its spec

  // A trainer-free round trip through a model file keeps the architecture.
  const std::string file = encode_model(legacy, 3);
  auto decoded = decode_model({reinterpret_cast<const uint8_t*>(file.data()), file.size()});
  REQUIRE(decoded.is_ok());
  CHECK(decoded->metadata.at("model_spec") == p->canonical_json());
  CHECK(decoded->model.layout == p->layout());
  auto back = ModelSpec::of_layout(decoded->model.layout);
  REQUIRE(back.is_ok());
  CHECK(back->canonical_json() == p->canonical_json());

  // Tensors that are neither: refused with a reason.
  auto odd = ModelLayout::create({{"w", {3, 3}}});
  REQUIRE(odd.is_ok());
  Model m(*odd);
  CHECK_FALSE(upgrade_legacy_mlp(m));
  CHECK_FALSE(ModelSpec::of_layout(*odd).is_ok());
  // A spec whose tensors do not match the file's.
  auto lying = ModelLayout::create({{"layers.0.weight", {3, 4}}, {"layers.0.bias", {3}}}, p->canonical_json());
  REQUIRE(lying.is_ok());
  auto r = ModelSpec::of_layout(*lying);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.status().message(), Catch::Contains("do not match"));
}

TEST_CASE("every named preset parses and fits its data", "[unit][model_spec]") {
  struct Want {
    std::string name;
    TaskType task;
    int64_t input, output;
  };
  for (const auto& w : {Want{"cnn-fmnist", TaskType::kClassification, 784, 10},
                        Want{"forecast-cnn1d", TaskType::kRegression, 24, 1},
                        Want{"forecast-cnn1d:48", TaskType::kRegression, 48, 1},
                        Want{"autoencoder", TaskType::kAutoencoder, 24, 24},
                        Want{"autoencoder:32", TaskType::kAutoencoder, 32, 32}}) {
    auto s = ModelSpec::preset(w.name);
    INFO(w.name << ": " << s.status().to_string());
    REQUIRE(s.is_ok());
    CHECK(s->task() == w.task);
    CHECK(s->input_size() == w.input);
    CHECK(s->output_size() == w.output);
    CHECK(s->name() == w.name);
  }
  auto cnn = ModelSpec::preset("cnn-fmnist");
  CHECK(cnn->input_shape() == std::vector<int64_t>{1, 28, 28});
  auto unknown = ModelSpec::preset("resnet50");
  REQUIRE_FALSE(unknown.is_ok());
  CHECK_THAT(unknown.status().message(), Catch::Contains("cnn-fmnist") && Catch::Contains("FILE.json"));
  CHECK_FALSE(ModelSpec::preset("forecast-cnn1d:2").is_ok());
  CHECK_FALSE(ModelSpec::preset("mlp:784--10").is_ok());
  CHECK_FALSE(ModelSpec::preset("mlp:784").is_ok());
}

TEST_CASE("a spec file loads; a missing one is an I/O error", "[unit][model_spec]") {
  char dir[] = "/tmp/edgefed-spec-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/cnn.json";
  std::ofstream(path) << kIssueExample;
  auto s = ModelSpec::load(path);
  REQUIRE(s.is_ok());
  CHECK(s->layout().tensors().size() == 6);
  std::ofstream(path, std::ios::trunc) << R"({"input":[4],"layers":[{"type":"conv9d"}],"loss":"mse"})";
  auto bad = ModelSpec::load(path);
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.status().message(), Catch::StartsWith(path) && Catch::Contains("conv9d"));
  std::remove(path.c_str());
  auto missing = ModelSpec::load(path);
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == Code::kIo);
  rmdir(dir);
}

TEST_CASE("bad specs are refused with one line naming the layer", "[unit][model_spec]") {
  const std::string dense = R"({"type":"dense","out":2})";
  auto spec = [&](const std::string& input, const std::string& layers, const std::string& rest = R"("loss":"mse")") {
    return R"({"input":)" + input + R"(,"layers":[)" + layers + "]," + rest + "}";
  };
  CHECK_THAT(refusal(spec("[4]", R"({"type":"conv3d","out":2})")),
             Catch::Contains("layers[0]") && Catch::Contains("unknown layer type \"conv3d\"") &&
                 Catch::Contains("conv2d"));
  CHECK_THAT(refusal(spec("[4]", R"({"type":"dense","out":2,"activation":"relu"})")),
             Catch::Contains("layers[0] (dense): unknown key \"activation\""));
  CHECK_THAT(refusal(spec("[1,4,4]", R"({"type":"conv2d","out":2,"kernel":5},{"type":"flatten"},)" + dense)),
             Catch::Contains("layers[0] (conv2d): kernel 5 is larger than its input height 4") &&
                 Catch::Contains("zero-sized output"));
  CHECK_THAT(refusal(spec("[1,3,3]", R"({"type":"conv2d","out":2,"kernel":2},{"type":"maxpool2d","kernel":3},)"
                                     R"({"type":"flatten"},)" + dense)),
             Catch::Contains("layers[1] (maxpool2d)") && Catch::Contains("zero-sized output"));
  CHECK_THAT(refusal(spec("[2,8,8]", R"({"type":"conv2d","out":2,"kernel":3},)" + dense)),
             Catch::Contains("layers[1] (dense) needs a flat [N] input, got [2, 6, 6]") && Catch::Contains("flatten"));
  CHECK_THAT(refusal(spec("[8]", R"({"type":"conv1d","out":2,"kernel":3},)" + dense)),
             Catch::Contains("layers[0] (conv1d) needs a [C, L] input, got [8]"));
  CHECK_THAT(refusal(spec("[4]", R"({"type":"dense","out":0})")), Catch::Contains("\"out\" must be an integer in 1.."));
  CHECK_THAT(refusal(spec("[1,6,6]", R"({"type":"conv2d","out":2,"kernel":3,"padding":3},{"type":"flatten"})")),
             Catch::Contains("\"padding\" must be an integer in 0..2"));
  CHECK_THAT(refusal(spec("[4]", dense + R"(,{"type":"dropout","rate":1})")),
             Catch::Contains("\"rate\" must be a number in [0, 1)"));
  CHECK_THAT(refusal(spec("[2,4]", R"({"type":"conv1d","out":2,"kernel":2})")),
             Catch::Contains("last layer's output must be flat, got [2, 3]"));
  CHECK_THAT(refusal(spec("[4]", R"({"type":"relu"})")), Catch::Contains("no layer has parameters"));
  CHECK_THAT(refusal(spec("[4]", R"({"type":"dense","out":1})", R"("loss":"softmax_cross_entropy")")),
             Catch::Contains("at least 2 outputs"));
  CHECK_THAT(refusal(spec("[4]", dense, R"("loss":"mse","target":"input")")),
             Catch::Contains("autoencoder's output (2) must have the input's size (4)"));
  CHECK_THAT(refusal(spec("[4]", dense, R"("loss":"l1")")), Catch::Contains("\"loss\" must be one of"));
  CHECK_THAT(refusal(spec("[4]", dense, R"("loss":"softmax_cross_entropy","target":"input")")),
             Catch::Contains("\"target\" must be \"label\""));
  CHECK_THAT(refusal(spec("[4]", dense, R"("loss":"mse","huber_delta":1)")), Catch::Contains("only for"));
  CHECK_THAT(refusal(spec("[1,2,3,4]", dense)), Catch::Contains("\"input\" must be the sample shape"));
  CHECK_THAT(refusal(spec("[0]", dense)), Catch::Contains("\"input\" dimensions must be integers"));
  CHECK_THAT(refusal(R"({"input":[4],"layers":[)" + dense + R"(],"loss":"mse","optimizer":"adam"})"),
             Catch::Contains("unknown key \"optimizer\""));
  CHECK_THAT(refusal("{\"input\": [4], \"layers\": ["), Catch::StartsWith("model spec: "));
  CHECK_THAT(refusal("[]"), Catch::Contains("must be a JSON object"));
  CHECK_THAT(refusal(spec("[4]", "")), Catch::Contains("\"layers\" must be a non-empty array"));

  // Size limits: the text, the layer count, the parameter count.
  std::string big = spec("[4]", dense, R"("loss":"mse","name":")" + std::string(70 * 1024, 'x') + "\"");
  CHECK_THAT(refusal(big), Catch::Contains("larger than 65536 bytes"));
  std::string many;
  for (int i = 0; i < 65; ++i) many += R"({"type":"relu"},)";
  CHECK_THAT(refusal(spec("[4]", many + dense)), Catch::Contains("more than 64 layers"));
  CHECK_THAT(refusal(spec("[100000]", R"({"type":"dense","out":1000})")), Catch::Contains("parameters by layers[0]"));
  CHECK_THAT(refusal(spec("[4]", dense, R"("loss":"mse","name":"a\nb")")), Catch::Contains("control character"));
}
