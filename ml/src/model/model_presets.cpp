// The named model presets: the common cases without writing a spec file.
// Each is a spec built here and parsed like any other, so a preset is
// exactly the JSON that --print-model-spec shows.
#include <charconv>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgefed/ml/model_spec.hpp"

namespace edgefed::ml {
namespace {

using nlohmann::json;

json dense(int out) { return {{"type", "dense"}, {"out", out}}; }
json act(const char* type) { return {{"type", type}}; }
json conv(const char* type, int out, int kernel, int padding) {
  return {{"type", type}, {"out", out}, {"kernel", kernel}, {"padding", padding}};
}
json pool(const char* type, int kernel) { return {{"type", type}, {"kernel", kernel}}; }

// "784-128-10": dense/relu/.../dense with a softmax cross-entropy head.
Result<json> mlp(const std::string& name, const std::string& sizes_text) {
  std::vector<int> sizes;
  size_t start = 0;
  while (start <= sizes_text.size()) {
    size_t end = sizes_text.find('-', start);
    if (end == std::string::npos) end = sizes_text.size();
    int v = 0;
    const auto [p, ec] = std::from_chars(sizes_text.data() + start, sizes_text.data() + end, v);
    if (end == start || ec != std::errc() || p != sizes_text.data() + end || v < 1)
      return Status(Code::kInvalidArgument, "bad MLP preset '" + name + "' (want e.g. mlp:784-128-10)");
    sizes.push_back(v);
    start = end + 1;
  }
  if (sizes.size() < 2)
    return Status(Code::kInvalidArgument, "MLP preset '" + name + "' needs at least two sizes (input-classes)");
  json layers = json::array();
  for (size_t i = 1; i < sizes.size(); ++i) {
    if (i > 1) layers.push_back(act("relu"));
    layers.push_back(dense(sizes[i]));
  }
  return json{{"name", name}, {"input", {sizes[0]}}, {"layers", layers}, {"loss", "softmax_cross_entropy"}};
}

// An optional ":N" size after a preset's base name.
Result<int> size_arg(const std::string& name, const std::string& base, int fallback, int lo, int hi) {
  if (name == base) return fallback;
  const std::string tail = name.substr(base.size() + 1);
  int v = 0;
  const auto [p, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), v);
  if (ec != std::errc() || p != tail.data() + tail.size() || v < lo || v > hi)
    return Status(Code::kInvalidArgument, "preset '" + name + "': want " + base + ":N with N in " +
                                              std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

bool has_base(const std::string& name, const std::string& base) {
  return name == base || name.rfind(base + ":", 0) == 0;
}

}  // namespace

std::string ModelSpec::preset_names() {
  return "mlp:IN-HIDDEN...-CLASSES (e.g. mlp:784-128-10), cnn-fmnist, forecast-cnn1d[:WINDOW], autoencoder[:N]";
}

Result<ModelSpec> ModelSpec::preset(const std::string& name_in) {
  std::string name = name_in;
  json j;
  if (name.rfind("mlp:", 0) == 0 || (!name.empty() && name.find_first_not_of("0123456789-") == std::string::npos)) {
    // "784-128-10" alone is the MLP shorthand the flags always accepted.
    const std::string sizes = name.rfind("mlp:", 0) == 0 ? name.substr(4) : name;
    name = "mlp:" + sizes;
    auto m = mlp(name_in, sizes);
    if (!m) return m.status();
    j = std::move(m).value();
    j["name"] = name;
  } else if (name == "cnn-fmnist") {
    // A small Fashion-MNIST CNN: two 3x3 convolutions with pooling and a
    // dense head (about 1.8 M multiply-adds and 0.12 M parameters).
    j = {{"name", name},
         {"input", {1, 28, 28}},
         {"layers",
          {conv("conv2d", 24, 3, 1), act("relu"), pool("maxpool2d", 2), conv("conv2d", 48, 3, 0), act("relu"),
           pool("maxpool2d", 2), act("flatten"), dense(64), act("relu"), dense(10)}},
         {"loss", "softmax_cross_entropy"}};
  } else if (has_base(name, "forecast-cnn1d")) {
    // Next value of one sensor from its last WINDOW readings.
    auto w = size_arg(name, "forecast-cnn1d", 24, 4, 4096);
    if (!w) return w.status();
    j = {{"name", name},
         {"input", {1, *w}},
         {"layers",
          {conv("conv1d", 16, 3, 1), act("relu"), conv("conv1d", 16, 3, 1), act("relu"), pool("maxpool1d", 2),
           act("flatten"), dense(32), act("relu"), dense(1)}},
         {"loss", "huber"}};
  } else if (has_base(name, "autoencoder")) {
    // A dense autoencoder over N values (a window of readings): its
    // reconstruction error is the anomaly score.
    auto n = size_arg(name, "autoencoder", 24, 4, 1 << 16);
    if (!n) return n.status();
    const int h1 = std::max(4, *n * 2 / 3), h2 = std::max(2, *n / 6);
    j = {{"name", name},
         {"input", {*n}},
         {"layers", {dense(h1), act("tanh"), dense(h2), act("tanh"), dense(h1), act("tanh"), dense(*n)}},
         {"loss", "mse"},
         {"target", "input"}};
  } else {
    return Status(Code::kInvalidArgument, "unknown model preset '" + name_in + "' (presets: " + preset_names() +
                                              "; or a FILE.json model spec)");
  }
  return parse(j.dump());
}

}  // namespace edgefed::ml
