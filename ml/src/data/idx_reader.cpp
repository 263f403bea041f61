#include "edgefed/ml/idx_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace edgefed::ml {
namespace {

constexpr uint8_t kUnsignedByte = 0x08;
constexpr int kMaxDims = 4;
constexpr size_t kChunkRows = 256;  // rows decompressed per read while streaming images

class GzFile {
 public:
  explicit GzFile(const std::string& path) : f_(gzopen(path.c_str(), "rb")) {
    if (f_) gzbuffer(f_, 64 * 1024);
  }
  ~GzFile() {
    if (f_) gzclose(f_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  bool is_open() const { return f_ != nullptr; }

  // Reads up to n bytes; returns how many were read, or -1 on a decompression
  // error (a damaged or cut-off gzip stream counts as truncated data).
  int64_t read(uint8_t* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      const unsigned want = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      const int r = gzread(f_, buf + got, want);
      if (r < 0) return -1;
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return static_cast<int64_t>(got);
  }
  std::string error() {
    int errnum = 0;
    const char* msg = gzerror(f_, &errnum);
    return msg ? msg : "unknown zlib error";
  }

 private:
  gzFile f_;
};

Status truncated(const std::string& path, const std::string& what, int64_t expected, int64_t got) {
  return Status(Code::kInvalidArgument, path + ": truncated IDX file: expected " + std::to_string(expected) +
                                            " bytes of " + what + ", found " + std::to_string(std::max<int64_t>(got, 0)));
}

Result<std::vector<int64_t>> read_header(GzFile& f, const std::string& path, int expected_ndims, int64_t max_bytes) {
  uint8_t magic[4];
  const int64_t got = f.read(magic, 4);
  if (got != 4) return truncated(path, "header", 4, got);
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != kUnsignedByte || magic[3] < 1 || magic[3] > kMaxDims) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", magic[0], magic[1], magic[2], magic[3]);
    return Status(Code::kInvalidArgument, path + ": not an unsigned-byte IDX file (magic 0x" + hex +
                                              ", want 0x000008NN with 1 <= NN <= 4)");
  }
  const int ndims = magic[3];
  if (expected_ndims > 0 && ndims != expected_ndims)
    return Status(Code::kInvalidArgument, path + ": IDX file has " + std::to_string(ndims) + " dimensions, want " +
                                              std::to_string(expected_ndims));
  std::vector<int64_t> dims;
  int64_t total = 1;
  for (int i = 0; i < ndims; ++i) {
    uint8_t b[4];
    const int64_t g = f.read(b, 4);
    if (g != 4) return truncated(path, "header", 4 + 4 * ndims, 4 + 4 * i + g);
    const int64_t d = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | int64_t{b[3]};
    if (d <= 0) return Status(Code::kInvalidArgument, path + ": IDX dimension " + std::to_string(i) + " is zero");
    dims.push_back(d);
    total *= d;  // each d < 2^32 and we stop once past max_bytes: no overflow
    if (total > max_bytes)
      return Status(Code::kInvalidArgument, path + ": IDX data larger than the limit of " + std::to_string(max_bytes) + " bytes");
  }
  return dims;
}

std::string file_name(IdxSplit split, bool images) {
  return std::string(split == IdxSplit::kTrain ? "train" : "t10k") + (images ? "-images-idx3-ubyte.gz" : "-labels-idx1-ubyte.gz");
}

Status open_error(const std::string& path) {
  return Status(Code::kIo, path + ": cannot open: " + std::strerror(errno));
}

}  // namespace

Result<IdxArray> read_idx(const std::string& path, int expected_ndims, int64_t max_bytes) {
  errno = 0;
  GzFile f(path);
  if (!f.is_open()) return open_error(path);
  auto dims = read_header(f, path, expected_ndims, max_bytes);
  if (!dims) return dims.status();
  IdxArray out;
  out.dims = std::move(dims).value();
  int64_t total = 1;
  for (int64_t d : out.dims) total *= d;
  out.data.resize(static_cast<size_t>(total));
  const int64_t got = f.read(out.data.data(), out.data.size());
  if (got != total) return truncated(path, "data", total, got);
  return out;
}

Result<std::vector<int32_t>> read_idx_labels(const std::string& dir, IdxSplit split) {
  const std::string path = dir + "/" + file_name(split, false);
  auto arr = read_idx(path, 1, int64_t{1} << 28);
  if (!arr) return arr.status();
  std::vector<int32_t> labels(arr->data.begin(), arr->data.end());
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] > 9)
      return Status(Code::kInvalidArgument, path + ": label " + std::to_string(labels[i]) + " of sample " +
                                                std::to_string(i) + " is not a Fashion-MNIST class (0..9)");
  return labels;
}

Result<DataStore> load_idx(const std::string& dir, IdxSplit split, const std::vector<uint32_t>* rows) {
  auto labels = read_idx_labels(dir, split);
  if (!labels) return labels.status();
  const std::string path = dir + "/" + file_name(split, true);
  errno = 0;
  GzFile f(path);
  if (!f.is_open()) return open_error(path);
  auto dims = read_header(f, path, 3, int64_t{1} << 32);
  if (!dims) return dims.status();
  const int64_t n = (*dims)[0];
  const int64_t d = (*dims)[1] * (*dims)[2];
  if (n != static_cast<int64_t>(labels->size()))
    return Status(Code::kInvalidArgument, path + ": " + std::to_string(n) + " images but " +
                                              std::to_string(labels->size()) + " labels");
  if (rows) {
    for (size_t i = 0; i < rows->size(); ++i)
      if ((*rows)[i] >= n || (i > 0 && (*rows)[i] <= (*rows)[i - 1]))
        return Status(Code::kInvalidArgument, "load_idx: row selection must be ascending and below " + std::to_string(n));
  }
  const int64_t keep = rows ? static_cast<int64_t>(rows->size()) : n;
  DataStore out;
  out.num_classes = 10;
  out.features.resize(keep, d);
  out.labels.resize(static_cast<size_t>(keep));
  std::vector<uint8_t> chunk(kChunkRows * static_cast<size_t>(d));
  int64_t next_keep = 0;  // position in rows (or the output row when keeping all)
  for (int64_t start = 0; start < n && next_keep < keep; start += static_cast<int64_t>(kChunkRows)) {
    const int64_t count = std::min<int64_t>(static_cast<int64_t>(kChunkRows), n - start);
    const int64_t want = count * d;
    const int64_t got = f.read(chunk.data(), static_cast<size_t>(want));
    if (got != want) return truncated(path, "image data", n * d, start * d + got);
    for (int64_t r = start; r < start + count && next_keep < keep; ++r) {
      if (rows && (*rows)[static_cast<size_t>(next_keep)] != r) continue;
      const uint8_t* src = chunk.data() + (r - start) * d;
      float* dst = out.features.row(next_keep).data();
      for (int64_t j = 0; j < d; ++j) dst[j] = static_cast<float>(src[j]) * (1.0f / 255.0f);
      out.labels[static_cast<size_t>(next_keep)] = (*labels)[static_cast<size_t>(r)];
      ++next_keep;
    }
  }
  return out;
}

}  // namespace edgefed::ml
