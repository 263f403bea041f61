// Fuzzes parse_safetensors and decode_model. Beyond "no crash, no sanitizer
// report", every accepted input must survive a round trip: written again by
// write_safetensors / encode_model and read back, it must give the same
// tensors, metadata and (bit-exact) values.
#include <bit>
#include <cstring>

#include "edgefed/model_io.hpp"
#include "edgefed/safetensors.hpp"
#include "fuzz_common.hpp"

using namespace edgefed;
using fuzz::bug;

namespace {

void check_file_round_trip(const SafetensorsFile& f) {
  std::vector<TensorOut> out;
  for (const auto& t : f.tensors) out.push_back({t.name, t.dtype, t.shape, t.data});
  const std::string again = write_safetensors(out, f.metadata);
  auto g = parse_safetensors(fuzz::bytes_of(again));
  if (!g) bug("a written file does not parse");
  if (g->metadata != f.metadata || g->tensors.size() != f.tensors.size()) bug("metadata or tensor count changed");
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const auto &a = f.tensors[i], &b = g->tensors[i];
    if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape || a.data.size() != b.data.size() ||
        (a.data.size() && std::memcmp(a.data.data(), b.data.data(), a.data.size()) != 0))
      bug("a tensor changed in the round trip");
  }
}

void check_model_round_trip(const DecodedModel& m) {
  const std::string again = encode_model(m.model, m.version, m.metadata);
  auto d = decode_model(fuzz::bytes_of(again), &m.model.layout);
  if (!d) bug("an encoded model does not decode");
  if (d->version != m.version || d->model.params.size() != m.model.params.size()) bug("model changed");
  for (size_t i = 0; i < m.model.params.size(); ++i)
    if (std::bit_cast<uint32_t>(d->model.params[i]) != std::bit_cast<uint32_t>(m.model.params[i]))
      bug("a model value changed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  auto f = parse_safetensors(in);
  if (f) check_file_round_trip(*f);
  else if (f.status().message().empty()) bug("an error without a message");
  auto m = decode_model(in);
  if (m) check_model_round_trip(*m);
  // The same bytes against an expected layout take the comparison path too.
  (void)decode_model(in, &fuzz::fuzz_layout());
  return 0;
}
