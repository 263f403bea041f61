// IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or plain, read
// with zlib. Only unsigned-byte data (type 0x08) is accepted. The header (magic,
// dimension count, dimensions) is checked, and a file that ends early is an
// error naming how many bytes were expected and found.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "edgefed/ml/dataset.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;  // product(dims) bytes, row-major
};

// Reads a whole IDX file. `expected_ndims` (if > 0) must match the header.
// Errors: kIo (cannot open / read), kInvalidArgument (bad magic, bad type,
// truncated, more than `max_bytes` of data).
Result<IdxArray> read_idx(const std::string& path, int expected_ndims = 0,
                          int64_t max_bytes = int64_t{1} << 30);

// Fashion-MNIST from a directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.
enum class IdxSplit { kTrain, kTest };

// Only the labels (small: one byte per sample); enough to compute partitions.
Result<std::vector<int32_t>> read_idx_labels(const std::string& dir, IdxSplit split);

// Images scaled to [0,1] and labels; num_classes = 10. If `rows` is given
// (sorted ascending), only those samples are kept, in that order, and the
// rest of the file is streamed past: an agent with a 600-image slice never
// holds all 60,000 images. Reading stops after the last selected row, so a
// file cut off beyond it is not noticed. Images and labels must agree in count.
Result<DataStore> load_idx(const std::string& dir, IdxSplit split,
                           const std::vector<uint32_t>* rows = nullptr);

}  // namespace edgefed::ml
