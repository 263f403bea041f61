// Internal: names and helpers shared by the update encoder and decoder.
#pragma once

#include <string>
#include <string_view>

namespace edgefed::detail {

inline constexpr std::string_view kTopkIndices = "__topk_indices__";
inline constexpr std::string_view kTopkValues = "__topk_values__";

// Metadata key of an int8 tensor's scale: "scale.<tensor name>".
inline std::string scale_key(const std::string& tensor) { return "scale." + tensor; }

}  // namespace edgefed::detail
