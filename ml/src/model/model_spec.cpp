#include "edgefed/ml/model_spec.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"

namespace edgefed::ml {
namespace {

using nlohmann::json;

Status bad(const std::string& m) { return Status(Code::kInvalidArgument, "model spec: " + m); }

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// Reads one layer's object into `l`; `where` is "layers[3] (conv2d)".
class LayerReader {
 public:
  LayerReader(const json& j, std::string where) : j_(j), where_(std::move(where)) {}

  // An integer member in [lo, hi]; absent: `fallback` (or an error when
  // fallback < 0, meaning required).
  Status integer(const char* key, int lo, int hi, int fallback, int& out) {
    seen_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end()) {
      if (fallback < 0) return bad(where_ + ": needs \"" + key + "\"");
      out = fallback;
      return Status::ok();
    }
    if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi)
      return bad(where_ + ": \"" + key + "\" must be an integer in " + std::to_string(lo) + ".." +
                 std::to_string(hi) + ", got " + it->dump());
    out = static_cast<int>(it->get<int64_t>());
    return Status::ok();
  }

  Status rate(double& out) {
    seen_.insert("rate");
    const auto it = j_.find("rate");
    if (it == j_.end()) return bad(where_ + ": needs \"rate\"");
    if (!it->is_number() || !(it->get<double>() >= 0 && it->get<double>() < 1))
      return bad(where_ + ": \"rate\" must be a number in [0, 1), got " + it->dump());
    out = it->get<double>();
    return Status::ok();
  }

  // Refuses keys this layer type does not have (a typo must not be ignored).
  Status no_unknown_keys() const {
    for (const auto& [k, v] : j_.items())
      if (k != "type" && !seen_.count(k)) return bad(where_ + ": unknown key \"" + k + "\"");
    return Status::ok();
  }

 private:
  const json& j_;
  std::string where_;
  std::set<std::string> seen_;
};

constexpr int kMaxWidth = 1 << 20;   // dense outputs, conv channels
constexpr int kMaxKernel = 1 << 10;  // kernel, stride, padding

Status read_layer(const json& j, size_t index, LayerSpec& l) {
  const std::string at = "layers[" + std::to_string(index) + "]";
  if (!j.is_object()) return bad(at + " must be an object with a \"type\"");
  const auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return bad(at + " needs a \"type\" string");
  const auto type = parse_enum<LayerType>(t->get_ref<const std::string&>());
  if (!type)
    return bad(at + ": unknown layer type " + t->dump() + " (known: " + enum_choices<LayerType>(", ", ", ") + ")");
  l.type = *type;
  LayerReader r(j, at + " (" + t->get<std::string>() + ")");
  switch (l.type) {
    case LayerType::kDense:
      EDGEFED_RETURN_IF_ERROR(r.integer("out", 1, kMaxWidth, -1, l.out));
      break;
    case LayerType::kConv1d:
    case LayerType::kConv2d:
      EDGEFED_RETURN_IF_ERROR(r.integer("out", 1, kMaxWidth, -1, l.out));
      EDGEFED_RETURN_IF_ERROR(r.integer("kernel", 1, kMaxKernel, -1, l.kernel));
      EDGEFED_RETURN_IF_ERROR(r.integer("stride", 1, kMaxKernel, 1, l.stride));
      EDGEFED_RETURN_IF_ERROR(r.integer("padding", 0, l.kernel - 1, 0, l.padding));
      break;
    case LayerType::kMaxPool1d:
    case LayerType::kMaxPool2d:
    case LayerType::kAvgPool2d:
      EDGEFED_RETURN_IF_ERROR(r.integer("kernel", 1, kMaxKernel, -1, l.kernel));
      EDGEFED_RETURN_IF_ERROR(r.integer("stride", 1, kMaxKernel, l.kernel, l.stride));
      break;
    case LayerType::kDropout:
      EDGEFED_RETURN_IF_ERROR(r.rate(l.rate));
      break;
    case LayerType::kGlobalAvgPool:
    case LayerType::kFlatten:
    case LayerType::kRelu:
    case LayerType::kTanh:
    case LayerType::kSigmoid:
      break;
  }
  return r.no_unknown_keys();
}

// Output length of a window sliding over `in` (+ padding on both sides).
int64_t slide(int64_t in, int kernel, int stride, int padding) {
  const int64_t span = in + 2 * int64_t{padding};
  return span < kernel ? 0 : (span - kernel) / stride + 1;
}

// Derives l.out_shape from l.in_shape, or says why the layer does not fit.
Status infer_shape(size_t index, LayerSpec& l) {
  const std::string at = "layers[" + std::to_string(index) + "] (" + std::string(enum_name(l.type)) + ")";
  const auto& in = l.in_shape;
  auto need_dims = [&](size_t dims, const char* what) -> Status {
    if (in.size() == dims) return Status::ok();
    std::string hint;
    if (dims == 1) hint = ": add {\"type\": \"flatten\"} before it";
    return bad(at + " needs a " + what + " input, got " + shape_text(in) + hint);
  };
  auto window = [&](int64_t extent, const char* axis) -> Result<int64_t> {
    const int64_t o = slide(extent, l.kernel, l.stride, l.padding);
    if (o < 1)
      return bad(at + ": kernel " + std::to_string(l.kernel) + " is larger than its input " + axis + " " +
                 std::to_string(extent) + " (padding " + std::to_string(l.padding) + "): zero-sized output");
    return o;
  };
  switch (l.type) {
    case LayerType::kDense:
      EDGEFED_RETURN_IF_ERROR(need_dims(1, "flat [N]"));
      l.out_shape = {l.out};
      break;
    case LayerType::kConv1d: {
      EDGEFED_RETURN_IF_ERROR(need_dims(2, "[C, L]"));
      auto w = window(in[1], "length");
      if (!w) return w.status();
      l.out_shape = {l.out, *w};
      break;
    }
    case LayerType::kMaxPool1d: {
      EDGEFED_RETURN_IF_ERROR(need_dims(2, "[C, L]"));
      auto w = window(in[1], "length");
      if (!w) return w.status();
      l.out_shape = {in[0], *w};
      break;
    }
    case LayerType::kConv2d:
    case LayerType::kMaxPool2d:
    case LayerType::kAvgPool2d: {
      EDGEFED_RETURN_IF_ERROR(need_dims(3, "[C, H, W]"));
      auto h = window(in[1], "height");
      if (!h) return h.status();
      auto w = window(in[2], "width");
      if (!w) return w.status();
      l.out_shape = {l.type == LayerType::kConv2d ? l.out : in[0], *h, *w};
      break;
    }
    case LayerType::kGlobalAvgPool:
      if (in.size() != 2 && in.size() != 3)
        return bad(at + " needs a [C, L] or [C, H, W] input, got " + shape_text(in));
      l.out_shape = {in[0]};
      break;
    case LayerType::kFlatten:
      l.out_shape = {numel(in)};
      break;
    case LayerType::kRelu:
    case LayerType::kTanh:
    case LayerType::kSigmoid:
    case LayerType::kDropout:
      l.out_shape = in;
      break;
  }
  if (numel(l.out_shape) > ModelSpec::kMaxActivation)
    return bad(at + ": output " + shape_text(l.out_shape) + " exceeds " +
               std::to_string(ModelSpec::kMaxActivation) + " values per sample");
  return Status::ok();
}

int64_t layer_params(const LayerSpec& l) {
  switch (l.type) {
    case LayerType::kDense: return int64_t{l.out} * l.in_shape[0] + l.out;
    case LayerType::kConv1d: return int64_t{l.out} * l.in_shape[0] * l.kernel + l.out;
    case LayerType::kConv2d: return int64_t{l.out} * l.in_shape[0] * l.kernel * l.kernel + l.out;
    default: return 0;
  }
}

json canonical_layer(const LayerSpec& l) {
  json j = {{"type", std::string(enum_name(l.type))}};
  switch (l.type) {
    case LayerType::kDense: j["out"] = l.out; break;
    case LayerType::kConv1d:
    case LayerType::kConv2d:
      j["out"] = l.out;
      j["kernel"] = l.kernel;
      j["stride"] = l.stride;
      j["padding"] = l.padding;
      break;
    case LayerType::kMaxPool1d:
    case LayerType::kMaxPool2d:
    case LayerType::kAvgPool2d:
      j["kernel"] = l.kernel;
      j["stride"] = l.stride;
      break;
    case LayerType::kDropout: j["rate"] = l.rate; break;
    default: break;
  }
  return j;
}

const char* target_name(TaskType t) {
  switch (t) {
    case TaskType::kClassification: return "label";
    case TaskType::kRegression: return "value";
    case TaskType::kAutoencoder: return "input";
  }
  return "label";
}

}  // namespace

Result<ModelSpec> ModelSpec::parse(std::string_view text) {
  if (text.size() > kMaxTextBytes)
    return bad("larger than " + std::to_string(kMaxTextBytes) + " bytes (" + std::to_string(text.size()) + ")");
  auto parsed = parse_json(text, kMaxTextBytes);
  if (!parsed) return bad(parsed.status().message());
  const json& j = *parsed;
  if (!j.is_object()) return bad("must be a JSON object with \"input\", \"layers\" and \"loss\"");
  for (const auto& [k, v] : j.items())
    if (k != "input" && k != "layers" && k != "loss" && k != "target" && k != "huber_delta" && k != "name")
      return bad("unknown key \"" + k + "\" (known: input, layers, loss, target, huber_delta, name)");

  ModelSpec s;
  if (auto it = j.find("name"); it != j.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().size() > 64)
      return bad("\"name\" must be a string of at most 64 bytes");
    s.name_ = it->get<std::string>();
    for (char c : s.name_)
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\')
        return bad("\"name\" holds a control character, quote or backslash");
  }

  const auto input = j.find("input");
  if (input == j.end() || !input->is_array() || input->empty() || input->size() > 3)
    return bad("\"input\" must be the sample shape: [N], [C, L] or [C, H, W]");
  for (const auto& d : *input) {
    if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > kMaxActivation)
      return bad("\"input\" dimensions must be integers in 1.." + std::to_string(kMaxActivation) + ", got " +
                 input->dump());
    s.input_.push_back(d.get<int64_t>());
  }
  if (numel(s.input_) > kMaxActivation)
    return bad("\"input\" " + shape_text(s.input_) + " exceeds " + std::to_string(kMaxActivation) + " values");

  const auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array() || layers->empty())
    return bad("\"layers\" must be a non-empty array");
  if (layers->size() > kMaxLayers)
    return bad("more than " + std::to_string(kMaxLayers) + " layers (" + std::to_string(layers->size()) + ")");
  std::vector<int64_t> shape = s.input_;
  int64_t params = 0;
  for (size_t i = 0; i < layers->size(); ++i) {
    LayerSpec l;
    EDGEFED_RETURN_IF_ERROR(read_layer((*layers)[i], i, l));
    l.in_shape = shape;
    EDGEFED_RETURN_IF_ERROR(infer_shape(i, l));
    params += layer_params(l);
    if (params > kMaxParams)
      return bad("more than " + std::to_string(kMaxParams) + " parameters by layers[" + std::to_string(i) + "]");
    shape = l.out_shape;
    s.layers_.push_back(std::move(l));
  }
  if (params == 0) return bad("no layer has parameters (add a dense or conv layer)");
  if (shape.size() != 1)
    return bad("the last layer's output must be flat, got " + shape_text(shape) +
               ": add {\"type\": \"flatten\"} and a dense layer");

  const auto loss = j.find("loss");
  if (loss == j.end() || !loss->is_string() || !parse_enum<LossType>(loss->get_ref<const std::string&>()))
    return bad("\"loss\" must be one of " + enum_choices<LossType>(", ", ", ") +
               (loss == j.end() ? std::string() : ", got " + loss->dump()));
  s.loss_ = *parse_enum<LossType>(loss->get_ref<const std::string&>());
  const bool ce = s.loss_ == LossType::kSoftmaxCrossEntropy;
  s.task_ = ce ? TaskType::kClassification : TaskType::kRegression;
  if (auto it = j.find("target"); it != j.end()) {
    const std::string t = it->is_string() ? it->get<std::string>() : it->dump();
    if (t == "input" && !ce) s.task_ = TaskType::kAutoencoder;
    else if (t != target_name(s.task_))
      return bad(std::string("\"target\" must be ") +
                 (ce ? "\"label\" for softmax_cross_entropy" : "\"value\" or \"input\" for mse and huber") +
                 ", got " + it->dump());
  }
  if (auto it = j.find("huber_delta"); it != j.end()) {
    if (s.loss_ != LossType::kHuber) return bad("\"huber_delta\" is only for \"loss\": \"huber\"");
    if (!it->is_number() || !(it->get<double>() > 0) || !std::isfinite(it->get<double>()))
      return bad("\"huber_delta\" must be a number > 0, got " + it->dump());
    s.huber_delta_ = it->get<double>();
  }
  if (ce && shape[0] < 2) return bad("softmax_cross_entropy needs at least 2 outputs (classes), got 1");
  if (s.task_ == TaskType::kAutoencoder && shape[0] != s.input_size())
    return bad("an autoencoder's output (" + std::to_string(shape[0]) + ") must have the input's size (" +
               std::to_string(s.input_size()) + ")");

  json c = {{"input", s.input_}, {"layers", json::array()}, {"loss", std::string(enum_name(s.loss_))},
            {"target", target_name(s.task_)}};
  for (const auto& l : s.layers_) c["layers"].push_back(canonical_layer(l));
  if (s.loss_ == LossType::kHuber) c["huber_delta"] = s.huber_delta_;
  if (!s.name_.empty()) c["name"] = s.name_;
  s.canonical_ = c.dump();
  return s;
}

Result<ModelSpec> ModelSpec::load(const std::string& arg) {
  const std::string ext = ".json";
  if (arg.size() <= ext.size() || arg.compare(arg.size() - ext.size(), ext.size(), ext) != 0) return preset(arg);
  std::ifstream f(arg, std::ios::binary);
  if (!f) return Status(Code::kIo, "model spec: cannot read " + arg);
  std::string text(kMaxTextBytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  if (f.bad()) return Status(Code::kIo, "model spec: error reading " + arg);
  auto s = parse(text);
  if (!s) return Status(s.status().code(), arg + ": " + s.status().message());
  return s;
}

Result<ModelSpec> ModelSpec::of_layout(const ModelLayout& layout) {
  if (layout.architecture().empty()) {
    const auto sizes = layout.mlp_sizes();
    if (sizes.empty())
      return bad("the model has no model_spec and its tensors are not an MLP's (layers.i.weight, layers.i.bias)");
    std::string name = "mlp:";
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (i) name += '-';
      name += std::to_string(sizes[i]);
    }
    return preset(name);
  }
  auto s = parse(layout.architecture());
  if (!s) return s.status();
  if (!(s->layout() == layout))
    return bad("the model's tensors do not match its model_spec (" + s->describe() + ")");
  return s;
}

int64_t ModelSpec::input_size() const { return numel(input_); }
int64_t ModelSpec::output_size() const { return layers_.empty() ? 0 : numel(layers_.back().out_shape); }

int64_t ModelSpec::num_params() const {
  int64_t n = 0;
  for (const auto& l : layers_) n += layer_params(l);
  return n;
}

ModelLayout ModelSpec::layout() const {
  std::vector<TensorSpec> t;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = layers_[i];
    if (!l.has_params()) continue;
    const std::string p = "layers." + std::to_string(i) + ".";
    std::vector<int64_t> w = {l.out, l.in_shape[0]};
    if (l.type == LayerType::kConv1d) w.push_back(l.kernel);
    if (l.type == LayerType::kConv2d) w.insert(w.end(), {l.kernel, l.kernel});
    t.push_back({p + "weight", w});
    t.push_back({p + "bias", {l.out}});
  }
  // Cannot fail: parse() checked names, dimensions and the parameter count.
  return ModelLayout::create(std::move(t), canonical_).value();
}

Model ModelSpec::init(uint64_t seed) const { return init_mlp(layout(), seed); }

std::string ModelSpec::describe() const {
  if (!name_.empty()) return name_;
  std::ostringstream o;
  o << shape_text(input_);
  for (const auto& l : layers_) {
    o << ' ' << enum_name(l.type);
    if (l.type == LayerType::kDense || l.has_params()) o << l.out;
  }
  o << ' ' << enum_name(loss_);
  return o.str();
}

bool upgrade_legacy_mlp(Model& model) {
  if (!model.layout.architecture().empty() || model.layout.mlp_sizes().empty()) return false;
  auto spec = ModelSpec::of_layout(model.layout);
  if (!spec) return false;
  // Same tensors in the same order (W0, b0, W1, b1, ...): only names change.
  model.layout = spec->layout();
  return true;
}

}  // namespace edgefed::ml

namespace edgefed::ml {

std::optional<ModelLayout> legacy_mlp_layout(const ModelLayout& layout) {
  if (layout.architecture().empty()) return std::nullopt;
  auto spec = ModelSpec::parse(layout.architecture());
  if (!spec || spec->loss() != LossType::kSoftmaxCrossEntropy || spec->input_shape().size() != 1) return std::nullopt;
  std::string sizes = std::to_string(spec->input_size());
  const auto& layers = spec->layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    // Dense layers at even positions, ReLUs between them.
    const bool dense_here = i % 2 == 0;
    if (dense_here != (layers[i].type == LayerType::kDense)) return std::nullopt;
    if (!dense_here && layers[i].type != LayerType::kRelu) return std::nullopt;
    if (dense_here) sizes += "-" + std::to_string(layers[i].out);
  }
  if (layers.size() % 2 == 0) return std::nullopt;  // ends with a ReLU
  auto legacy = ModelLayout::mlp(sizes);
  if (!legacy) return std::nullopt;
  return std::move(legacy).value();
}

}  // namespace edgefed::ml
