#include "edgefed/ml/idx_reader.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "temp_dir.hpp"

using namespace edgefed::ml;
using edgefed::test::TempDir;

namespace {

const char* kFashion = "/usr/share/datasets/fashion-mnist";

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX body: magic 0x000008NN, the dims, then `data_bytes` bytes (value = index % 251).
std::string idx_bytes(std::vector<uint32_t> dims, size_t data_bytes, uint8_t type = 0x08) {
  std::string s{0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += be32(d);
  for (size_t i = 0; i < data_bytes; ++i) s += static_cast<char>(i % 251);
  return s;
}

std::string gz(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, content.data(), static_cast<unsigned>(content.size())) == static_cast<int>(content.size()));
  gzclose(f);
  return path;
}

// A small Fashion-MNIST-shaped directory with n images whose labels are i % 10.
void write_split(const TempDir& dir, const std::string& prefix, uint32_t n) {
  gz(dir.file(prefix + "-images-idx3-ubyte.gz"), idx_bytes({n, 28, 28}, size_t{n} * 784));
  std::string labels = idx_bytes({n}, 0);
  for (uint32_t i = 0; i < n; ++i) labels += static_cast<char>(i % 10);
  gz(dir.file(prefix + "-labels-idx1-ubyte.gz"), labels);
}

}  // namespace

TEST_CASE("IDX files are read through gzip with their dimensions", "[unit][idx]") {
  TempDir dir;
  auto a = read_idx(gz(dir.file("a.gz"), idx_bytes({3, 2, 2}, 12)));
  REQUIRE(a.is_ok());
  CHECK(a->dims == std::vector<int64_t>{3, 2, 2});
  CHECK(a->data.size() == 12);
  CHECK(a->data[11] == 11);
  SECTION("uncompressed files too") {
    auto b = read_idx(dir.write("b.idx", idx_bytes({4}, 4)), 1);
    REQUIRE(b.is_ok());
    CHECK(b->dims == std::vector<int64_t>{4});
  }
}

TEST_CASE("bad IDX files give clear errors", "[unit][idx]") {
  TempDir dir;
  using Row = std::tuple<std::string, std::string, std::string>;  // name, bytes, expected message part
  const std::string good = idx_bytes({5, 28, 28}, 5 * 784);
  auto [name, bytes, expected] = GENERATE_REF(table<std::string, std::string, std::string>({
      Row{"truncated data", idx_bytes({5, 28, 28}, 3 * 784), "truncated IDX file: expected 3920 bytes of data, found 2352"},
      Row{"truncated header", idx_bytes({5, 28, 28}, 0).substr(0, 9), "truncated IDX file"},
      Row{"wrong magic", std::string("\x1f\x00\x08\x03", 4) + good.substr(4), "not an unsigned-byte IDX file (magic 0x1f000803"},
      Row{"float type", idx_bytes({5, 28, 28}, 5 * 784, 0x0d), "magic 0x00000d03"},
      Row{"empty file", "", "truncated IDX file: expected 4 bytes of header, found 0"},
      Row{"zero dimension", idx_bytes({0, 28, 28}, 0), "dimension 0 is zero"},
      Row{"wrong rank", idx_bytes({5, 784}, 5 * 784), "has 2 dimensions, want 3"},
  }));
  CAPTURE(name);
  auto r = read_idx(gz(dir.file("x.gz"), bytes), 3);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.status().message(), Catch::Contains(expected));
}

TEST_CASE("a cut-off gzip stream is reported as truncated", "[unit][idx]") {
  TempDir dir;
  const std::string path = gz(dir.file("full.gz"), idx_bytes({50, 28, 28}, 50 * 784));
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  auto r = read_idx(path);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.status().message(), Catch::Contains("truncated IDX file"));
  auto missing = read_idx(dir.file("nope.gz"));
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == edgefed::Code::kIo);
  CHECK_THAT(missing.status().message(), Catch::Contains("nope.gz: cannot open"));
}

TEST_CASE("load_idx scales pixels and keeps only the selected rows", "[unit][idx]") {
  TempDir dir;
  write_split(dir, "train", 600);
  auto all = load_idx(dir.str(), IdxSplit::kTrain);
  REQUIRE(all.is_ok());
  CHECK(all->size() == 600);
  CHECK(all->dim() == 784);
  CHECK(all->num_classes == 10);
  CHECK(all->features(0, 250) == Approx(250.0 / 255.0));
  CHECK(all->features.maxCoeff() <= 1.0f);
  const std::vector<uint32_t> rows{3, 255, 256, 599};
  auto some = load_idx(dir.str(), IdxSplit::kTrain, &rows);
  REQUIRE(some.is_ok());
  REQUIRE(some->size() == 4);
  for (size_t k = 0; k < rows.size(); ++k) {
    CHECK(some->labels[k] == all->labels[rows[k]]);
    CHECK(some->features.row(static_cast<Eigen::Index>(k)) == all->features.row(rows[k]));
  }
  const std::vector<uint32_t> unsorted{5, 4};
  CHECK_FALSE(load_idx(dir.str(), IdxSplit::kTrain, &unsorted).is_ok());
}

TEST_CASE("images and labels must agree", "[unit][idx]") {
  TempDir dir;
  write_split(dir, "t10k", 20);
  gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes({19}, 0) + std::string(19, '\1'));
  auto r = load_idx(dir.str(), IdxSplit::kTest);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.status().message(), Catch::Contains("20 images but 19 labels"));
  std::string bad_labels = idx_bytes({20}, 0) + std::string(19, '\1') + "\x0c";
  gz(dir.file("t10k-labels-idx1-ubyte.gz"), bad_labels);
  auto l = read_idx_labels(dir.str(), IdxSplit::kTest);
  REQUIRE_FALSE(l.is_ok());
  CHECK_THAT(l.status().message(), Catch::Contains("label 12 of sample 19"));
}

TEST_CASE("the installed Fashion-MNIST test set loads", "[unit][idx]") {
  if (!std::filesystem::exists(std::string(kFashion) + "/t10k-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST not installed; skipped");
    return;
  }
  auto t = load_idx(kFashion, IdxSplit::kTest);
  REQUIRE(t.is_ok());
  CHECK(t->size() == 10000);
  CHECK(t->dim() == 784);
  std::vector<int> counts(10, 0);
  for (int32_t y : t->labels) ++counts[static_cast<size_t>(y)];
  CHECK(std::all_of(counts.begin(), counts.end(), [](int c) { return c == 1000; }));
}
