// Fuzzes the agent's IDX reader (read_idx: gzip or plain, magic, type,
// dimensions, truncation, size cap) on a temporary file. The first byte
// picks the expected dimension count (0 = any). Oracles: every error has a
// message; an accepted array holds exactly product(dims) bytes, all dims > 0.
#include "edgefed/ml/idx_reader.hpp"
#include "fuzz_common.hpp"
#include "fuzz_file.hpp"

using namespace edgefed;
using fuzz::bug;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fuzz::TempFile file(".idx");
  if (size == 0) return 0;
  const int expected_ndims = data[0] % 5;
  const std::string& path = file.write(data + 1, size - 1);
  // A small cap, so a header declaring gigabytes is refused, not allocated.
  auto a = ml::read_idx(path, expected_ndims, int64_t{1} << 20);
  if (!a) {
    if (a.status().message().empty()) bug("an error without a message");
    return 0;
  }
  int64_t n = 1;
  for (int64_t d : a->dims) {
    if (d <= 0) bug("a dimension <= 0 accepted");
    n *= d;
  }
  if (expected_ndims > 0 && static_cast<int>(a->dims.size()) != expected_ndims) bug("wrong dimension count accepted");
  if (static_cast<int64_t>(a->data.size()) != n) bug("data size differs from the product of the dimensions");
  if (n > (int64_t{1} << 20)) bug("the size cap was not applied");
  return 0;
}
