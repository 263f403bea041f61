// The safetensors writer. Output is what the reference library writes too:
// "__metadata__" first, then the tensors in the caller's order with
// consecutive data_offsets, the header padded with spaces so the data section
// starts at a multiple of 8 bytes (aligned loads for readers that mmap).
#include <nlohmann/json.hpp>

#include "edgefed/safetensors.hpp"

namespace edgefed {

std::string write_safetensors(const std::vector<TensorOut>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps the insertion order, so the header reads in file order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& md = header["__metadata__"];
    md = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) md[k] = v;
  }
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    auto& entry = header[t.name];
    entry["dtype"] = dtype_name(t.dtype);
    entry["shape"] = t.shape;
    entry["data_offsets"] = {offset, offset + t.data.size()};
    offset += t.data.size();
  }
  // replace: a name or value that is not UTF-8 is written with U+FFFD rather
  // than throwing; edgefed's own names and metadata are ASCII.
  std::string text = header.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.append((8 - text.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + text.size() + offset);
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i, n >>= 8) out.push_back(static_cast<char>(n & 0xff));
  out += text;
  for (const auto& t : tensors) out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
  return out;
}

}  // namespace edgefed
