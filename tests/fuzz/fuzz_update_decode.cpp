// Fuzzes decode_update against a fixed layout; the seeds hold one valid
// update per encoding (f32, f16, int8, topk), so mutations reach every
// decoder. An accepted update must re-encode: as f32 bit-exact, and in its
// own encoding to a file that decodes again.
#include <bit>

#include "edgefed/update_codec.hpp"
#include "fuzz_common.hpp"

using namespace edgefed;
using fuzz::bug;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ModelLayout& layout = fuzz::fuzz_layout();
  auto u = decode_update(std::span<const uint8_t>(data, size), layout);
  if (!u) {
    if (u.status().message().empty()) bug("an error without a message");
    return 0;
  }
  auto f32 = encode_update(layout, u->delta, u->meta, {Encoding::kF32});
  if (!f32) bug("a decoded update does not encode as f32");
  auto back = decode_update(fuzz::bytes_of(*f32), layout);
  if (!back) bug("an f32 re-encoding does not decode");
  for (size_t i = 0; i < u->delta.size(); ++i)
    if (std::bit_cast<uint32_t>(back->delta[i]) != std::bit_cast<uint32_t>(u->delta[i])) bug("f32 changed a value");
  if (back->meta.update_id != u->meta.update_id || back->meta.train_loss != u->meta.train_loss)
    bug("metadata changed");

  const Encoding own = u->meta.encoding;
  auto again = encode_update(layout, u->delta, u->meta, {own, 0.5});
  if (!again) bug("a decoded update does not re-encode in its own encoding");
  auto back2 = decode_update(fuzz::bytes_of(*again), layout);
  if (!back2) bug("a re-encoded update does not decode");
  if (own == Encoding::kF16)  // decoded halves are representable: exact
    for (size_t i = 0; i < u->delta.size(); ++i)
      if (std::bit_cast<uint32_t>(back2->delta[i]) != std::bit_cast<uint32_t>(u->delta[i])) bug("f16 changed a half");
  return 0;
}
