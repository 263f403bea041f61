#include "server/aggregation/optimizer_state.hpp"

#include <cmath>
#include <cstring>
#include <sstream>

namespace edgefed::server {

namespace {

constexpr std::string_view kMagic = "edgefed-optimizer/1";

Result<OptimizerState> bad(const std::string& why) {
  return Result<OptimizerState>(Code::kInvalidArgument, "optimizer state: " + why);
}

}  // namespace

std::string encode_optimizer_state(const OptimizerState& s) {
  const size_t dim = s.slots.empty() ? 0 : s.slots.front().size();
  std::ostringstream header;
  header << kMagic << ' ' << s.name << ' ' << s.steps << ' ' << dim << ' ' << s.slots.size() << '\n';
  std::string out = header.str();
  const size_t head = out.size();
  out.resize(head + s.slots.size() * dim * sizeof(float));
  char* p = out.data() + head;
  for (const auto& slot : s.slots) {
    std::memcpy(p, slot.data(), dim * sizeof(float));
    p += dim * sizeof(float);
  }
  return out;
}

Result<OptimizerState> decode_optimizer_state(std::string_view bytes) {
  const size_t eol = bytes.find('\n');
  if (eol == std::string_view::npos || eol > 200) return bad("no header line");
  std::istringstream header{std::string(bytes.substr(0, eol))};
  std::string magic;
  OptimizerState s;
  int64_t dim = -1, slots = -1;
  if (!(header >> magic >> s.name >> s.steps >> dim >> slots) || magic != kMagic) return bad("bad header");
  if (s.steps < 0 || dim < 0 || slots < 0 || slots > 8) return bad("bad header values");
  const std::string_view body = bytes.substr(eol + 1);
  if (body.size() != static_cast<size_t>(dim) * static_cast<size_t>(slots) * sizeof(float)) {
    return bad("holds " + std::to_string(body.size()) + " bytes, the header says " + std::to_string(slots) +
               " x " + std::to_string(dim) + " floats");
  }
  const char* p = body.data();
  for (int64_t k = 0; k < slots; ++k) {
    std::vector<float> slot(static_cast<size_t>(dim));
    std::memcpy(slot.data(), p, slot.size() * sizeof(float));
    p += slot.size() * sizeof(float);
    for (float x : slot) {
      if (!std::isfinite(x)) return bad("non-finite value");
    }
    s.slots.push_back(std::move(slot));
  }
  return s;
}

}  // namespace edgefed::server
