// Models as safetensors files (format: docs/formats/safetensors.md).
#include "edgefed/model_io.hpp"

#include <cmath>
#include <cstring>

#include "decimal.hpp"
#include "safetensors_header.hpp"
#include "tensor_bytes.hpp"

namespace edgefed {

std::string encode_model(const Model& model, int64_t version,
                         const std::map<std::string, std::string>& extra_metadata) {
  std::map<std::string, std::string> md = extra_metadata;
  // The reserved keys win over extras of the same name.
  md["format"] = "edgefed-model";
  md["layout_fingerprint"] = model.layout.fingerprint();
  md["version"] = std::to_string(version);
  if (!model.layout.architecture().empty()) md["model_spec"] = model.layout.architecture();
  else md.erase("model_spec");
  if (!model.normalizer.empty()) md["normalizer"] = model.normalizer;
  std::vector<TensorOut> out;
  out.reserve(model.layout.tensors().size());
  for (size_t i = 0; i < model.layout.tensors().size(); ++i) {
    const auto& spec = model.layout.tensors()[i];
    const auto values = model.tensor(i);
    out.push_back({spec.name, DType::kF32, spec.shape, detail::byte_view(values)});
  }
  return write_safetensors(out, md);
}

Result<DecodedModel> decode_model(std::span<const uint8_t> bytes, const ModelLayout* expected) {
  auto file = parse_safetensors(bytes);
  if (!file) return file.status();
  if (file->tensors.empty()) return Status(Code::kInvalidArgument, "model file holds no tensors");

  std::vector<TensorSpec> specs;
  specs.reserve(file->tensors.size());
  for (const auto& t : file->tensors) {
    if (t.dtype != DType::kF32)
      return Status(Code::kInvalidArgument, "tensor " + detail::quote_name(t.name) + " is " +
                                                std::string(dtype_name(t.dtype)) + "; model files hold F32");
    specs.push_back({t.name, t.shape});
  }
  const auto spec = file->metadata.find("model_spec");
  auto layout = ModelLayout::create(std::move(specs), spec == file->metadata.end() ? "" : spec->second);
  if (!layout) return Status(Code::kInvalidArgument, "model file: " + layout.status().message());

  DecodedModel out;
  out.metadata = file->metadata;
  // A fingerprint in the metadata must agree with the tensors themselves:
  // a disagreement means the file was assembled wrongly or tampered with.
  if (auto it = out.metadata.find("layout_fingerprint");
      it != out.metadata.end() && it->second != layout->fingerprint())
    return Status(Code::kDimensionMismatch, "model file says layout " + detail::quote_name(it->second) +
                                                " but its tensors make layout " + layout->fingerprint());
  if (expected && !(*layout == *expected))
    return Status(Code::kDimensionMismatch, "model file has layout " + layout->describe() + " (" +
                                                layout->fingerprint() + "), expected " + expected->describe() +
                                                " (" + expected->fingerprint() + ")");
  if (auto it = out.metadata.find("version"); it != out.metadata.end()) {
    const auto v = detail::parse_decimal_int(it->second);
    if (!v) return Status(Code::kInvalidArgument, "model file version " + detail::quote_name(it->second) +
                                                      " is not an integer >= 0");
    out.version = *v;
  }

  out.model = Model(std::move(layout.value()));
  if (auto it = out.metadata.find("normalizer"); it != out.metadata.end()) out.model.normalizer = it->second;
  for (size_t i = 0; i < file->tensors.size(); ++i) {
    const auto& t = file->tensors[i];
    auto dst = out.model.tensor(i);
    std::memcpy(dst.data(), t.data.data(), t.data.size());  // the data need not be aligned
    for (size_t k = 0; k < dst.size(); ++k)
      if (!std::isfinite(dst[k]))
        return Status(Code::kNonFinite, "tensor " + detail::quote_name(t.name) + " holds " +
                                            (std::isnan(dst[k]) ? "NaN" : "Inf") + " at index " +
                                            std::to_string(k));
  }
  return out;
}

}  // namespace edgefed
