#include "edgefed/model_layout.hpp"

#include <cmath>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "edgefed/sha256.hpp"

namespace edgefed {

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<ModelLayout> ModelLayout::create(std::vector<TensorSpec> tensors, std::string architecture) {
  if (tensors.empty()) return Status(Code::kInvalidArgument, "model layout has no tensors");
  ModelLayout l;
  std::set<std::string> names;
  std::ostringstream canon;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name.rfind("__", 0) == 0)
      return Status(Code::kInvalidArgument, "bad tensor name '" + t.name + "'");
    if (!names.insert(t.name).second)
      return Status(Code::kInvalidArgument, "duplicate tensor name '" + t.name + "'");
    if (t.shape.empty()) return Status(Code::kInvalidArgument, "tensor '" + t.name + "' has no shape");
    canon << t.name << ':';
    for (size_t k = 0; k < t.shape.size(); ++k) {
      // Cap each dimension so a hostile layout cannot overflow the sizes.
      if (t.shape[k] <= 0 || t.shape[k] > (int64_t{1} << 31))
        return Status(Code::kInvalidArgument, "tensor '" + t.name + "' has a bad dimension");
      canon << (k ? "x" : "") << t.shape[k];
    }
    canon << ';';
    l.offsets_.push_back(l.total_);
    l.total_ += t.numel();
    if (l.total_ > (int64_t{1} << 32))
      return Status(Code::kInvalidArgument, "model layout larger than 2^32 parameters");
  }
  if (!architecture.empty()) {
    // The name is only for logs; a malformed architecture is ml's to refuse.
    const auto j = nlohmann::json::parse(architecture, nullptr, false);
    if (j.is_object() && j.contains("name") && j["name"].is_string()) l.name_ = j["name"].get<std::string>();
    canon << "spec:" << architecture;
  }
  l.tensors_ = std::move(tensors);
  l.architecture_ = std::move(architecture);
  l.fingerprint_ = sha256_hex(canon.str()).substr(0, 16);
  return l;
}

Result<ModelLayout> ModelLayout::mlp(const std::string& spec_in) {
  std::string spec = spec_in;
  if (spec.rfind("mlp:", 0) == 0) spec = spec.substr(4);
  std::vector<int64_t> sizes;
  std::stringstream ss(spec);
  std::string part;
  while (std::getline(ss, part, '-')) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 9)
      return Status(Code::kInvalidArgument, "bad MLP spec '" + spec_in + "' (want e.g. mlp:784-128-10)");
    sizes.push_back(std::stoll(part));
  }
  if (sizes.size() < 2) return Status(Code::kInvalidArgument, "MLP spec '" + spec_in + "' needs at least two sizes");
  std::vector<TensorSpec> t;
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    t.push_back({"layers." + std::to_string(i) + ".weight", {sizes[i + 1], sizes[i]}});
    t.push_back({"layers." + std::to_string(i) + ".bias", {sizes[i + 1]}});
  }
  return create(std::move(t));
}

int ModelLayout::index_of(const std::string& name) const {
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<int> ModelLayout::mlp_sizes() const {
  if (tensors_.empty() || tensors_.size() % 2 != 0) return {};
  std::vector<int> sizes;
  for (size_t i = 0; i < tensors_.size(); i += 2) {
    const auto& w = tensors_[i];
    const auto& b = tensors_[i + 1];
    const std::string p = "layers." + std::to_string(i / 2) + ".";
    if (w.name != p + "weight" || b.name != p + "bias" || w.shape.size() != 2 || b.shape.size() != 1 ||
        b.shape[0] != w.shape[0])
      return {};
    if (i == 0) sizes.push_back(static_cast<int>(w.shape[1]));
    else if (sizes.back() != w.shape[1]) return {};
    sizes.push_back(static_cast<int>(w.shape[0]));
  }
  return sizes;
}

std::string ModelLayout::describe() const {
  if (!name_.empty()) return name_;
  auto s = mlp_sizes();
  if (s.empty()) return fingerprint_;
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out.push_back('-');
    out.append(std::to_string(s[i]));
  }
  return out;
}

std::span<float> Model::tensor(size_t i) {
  return {params.data() + layout.offset(i), static_cast<size_t>(layout.tensors()[i].numel())};
}
std::span<const float> Model::tensor(size_t i) const {
  return {params.data() + layout.offset(i), static_cast<size_t>(layout.tensors()[i].numel())};
}

Model init_mlp(const ModelLayout& layout, uint64_t seed) {
  Model m(layout);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < layout.tensors().size(); ++i) {
    const auto& t = layout.tensors()[i];
    if (t.shape.size() < 2) continue;  // biases stay zero
    const double fan_in = static_cast<double>(t.numel() / t.shape[0]);
    const double bound = std::sqrt(6.0 / fan_in);
    std::uniform_real_distribution<double> u(-bound, bound);
    for (float& v : m.tensor(i)) v = static_cast<float>(u(rng));
  }
  return m;
}

}  // namespace edgefed
