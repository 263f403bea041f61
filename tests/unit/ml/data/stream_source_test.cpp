#include "edgefed/ml/stream_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <thread>

#include "temp_dir.hpp"

using namespace edgefed::ml;
using edgefed::test::TempDir;
using namespace std::chrono_literals;

namespace {

DataSpec stream_spec(const std::string& path, int batch, int buffer) {
  auto s = parse_data_spec("stream:" + path + ":batch=" + std::to_string(batch) + ":buffer=" + std::to_string(buffer));
  REQUIRE(s.is_ok());
  return *s;
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    REQUIRE(n > 0);
    off += static_cast<size_t>(n);
  }
}

}  // namespace

TEST_CASE("a stream yields small batches from a FIFO as records arrive", "[unit][stream]") {
  TempDir dir;
  const std::string fifo = dir.file("feed");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto src = StreamSource::open(stream_spec(fifo, 4, 16));
  REQUIRE(src.is_ok());
  auto& s = **src;
  // No writer yet: a timeout, not end of input.
  auto none = s.next_batch(20ms);
  REQUIRE(none.is_ok());
  CHECK(none->empty());
  CHECK_FALSE(s.eof());

  const int w = ::open(fifo.c_str(), O_WRONLY);
  REQUIRE(w >= 0);
  write_all(w, "0.1,0.2,1\n0.3,0.4,0\n0.5,");  // two records and half of a third
  auto two = s.next_batch(50ms);
  REQUIRE(two.is_ok());
  REQUIRE(two->size() == 2);  // fewer than a batch after the timeout
  CHECK(two->dim() == 2);
  CHECK(two->label(0) == 1);
  CHECK(two->features(1)[1] == 0.4f);

  write_all(w, "0.6,2\nbad,0.1,3\n0.1,0.2,0.3,1\n1,1,1\n2,2,2\n3,3,3\n");
  auto four = s.next_batch(1000ms);
  REQUIRE(four.is_ok());
  CHECK(four->size() == 4);  // a full batch returns at once
  CHECK(four->label(0) == 2);
  CHECK(s.stats().malformed == 2);
  CHECK_THAT(s.stats().last_error, Catch::Contains("want 2"));
  ::close(w);  // end of input
  auto rest = s.next_batch(1000ms);
  REQUIRE(rest.is_ok());
  CHECK(rest->size() == 0);
  CHECK(s.eof());
  CHECK(s.stats().records == 6);
}

TEST_CASE("the stream buffer is bounded: a fast writer waits", "[unit][stream]") {
  TempDir dir;
  const std::string fifo = dir.file("feed");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto src = StreamSource::open(stream_spec(fifo, 8, 32));
  REQUIRE(src.is_ok());
  auto& s = **src;
  constexpr int kRecords = 20000;  // ~200 KB: more than the pipe holds
  std::thread writer([&] {
    const int w = ::open(fifo.c_str(), O_WRONLY);
    std::string line;
    for (int i = 0; i < kRecords; ++i) {
      line = std::to_string(i) + ",1,0\n";
      write_all(w, line);
    }
    ::close(w);
  });
  int64_t got = 0;
  int64_t max_buffered = 0;
  while (!s.eof()) {
    auto b = s.next_batch(200ms);
    REQUIRE(b.is_ok());
    if (got < 8 && b->size() > 0) CHECK(b->features(0)[0] == 0.0f);  // order kept
    got += b->size();
    max_buffered = std::max(max_buffered, s.buffered());
    CHECK(b->size() <= 8);
  }
  writer.join();
  CHECK(got == kRecords);
  CHECK(max_buffered <= 32);
  CHECK(s.stats().malformed == 0);
}

TEST_CASE("a stream from a regular file ends at its end and bad paths or specs fail", "[unit][stream]") {
  TempDir dir;
  auto src = StreamSource::open(stream_spec(dir.write("f.csv", "1,2,0\n3,4,1"), 8, 8));
  REQUIRE(src.is_ok());
  auto b = (*src)->next_batch(100ms);
  REQUIRE(b.is_ok());
  CHECK(b->size() == 2);  // the last record needs no newline
  CHECK((*src)->eof());
  auto missing = StreamSource::open(stream_spec(dir.file("nope"), 8, 8));
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == edgefed::Code::kIo);
  auto named = parse_data_spec("stream:-:label=class");
  REQUIRE(named.is_ok());
  CHECK_FALSE(StreamSource::open(*named).is_ok());
}

TEST_CASE("a stream of sensor readings is cut into standardised windows as it arrives", "[unit][stream]") {
  TempDir dir;
  // Two columns; window 3, horizon 1, target column 1; norm=fit.
  std::string text = "# temp,hum\n";
  std::vector<std::vector<double>> rows;
  for (int t = 0; t < 10; ++t) {
    rows.push_back({10.0 + t, 100.0 - 2 * t});
    text += std::to_string(10 + t) + "," + std::to_string(100 - 2 * t) + "\n";
  }
  text += "1,nan\n1,2,3\n";  // malformed: skipped, counted
  const std::string path = dir.write("readings.csv", text);
  auto spec = parse_data_spec("stream:" + path + ":window=3:horizon=1:target=1:batch=64");
  REQUIRE(spec.is_ok());
  auto src = StreamSource::open(*spec);
  REQUIRE(src.is_ok());
  auto& s = **src;
  auto b = s.next_batch(1000ms);
  REQUIRE(b.is_ok());
  REQUIRE(b->size() == 7);  // 10 readings, W + H = 4: the 4th completes the first window
  CHECK(b->dim() == 6);      // 2 channels x 3 steps
  CHECK(b->target_dim() == 1);
  CHECK(s.stats().malformed == 2);
  // Sample i was cut when reading i + 3 arrived: the running statistics of
  // readings 0 .. i + 3 (population std) standardise it.
  for (int i = 0; i < 7; ++i) {
    const int n = i + 4;
    for (int c = 0; c < 2; ++c) {
      double mean = 0, var = 0;
      for (int k = 0; k < n; ++k) mean += rows[k][c] / n;
      for (int k = 0; k < n; ++k) var += (rows[k][c] - mean) * (rows[k][c] - mean) / n;
      const double sd = std::sqrt(var);
      for (int k = 0; k < 3; ++k)
        CHECK(b->features(i)[c * 3 + k] == Approx((rows[i + k][c] - mean) / sd).margin(1e-5));
      if (c == 1) CHECK(b->target(i)[0] == Approx((rows[i + 3][1] - mean) / sd).margin(1e-5));
    }
  }
  // The statistics of all ten readings, features then the target channel.
  auto norm = s.normalizer();
  REQUIRE(norm.has_value());
  REQUIRE(norm->channels() == 3);
  CHECK(norm->mean[0] == Approx(14.5));
  CHECK(norm->mean[1] == Approx(91));
  CHECK(norm->mean[2] == norm->mean[1]);
  CHECK(norm->std[0] == Approx(std::sqrt(8.25)));
  CHECK(norm->std[1] == Approx(2 * std::sqrt(8.25)));

  SECTION("norm=none keeps the readings as they are and ships no normalizer") {
    auto raw = parse_data_spec("stream:" + path + ":window=3:norm=none");
    REQUIRE(raw.is_ok());
    auto rs = StreamSource::open(*raw);
    REQUIRE(rs.is_ok());
    auto rb = (*rs)->next_batch(1000ms);
    REQUIRE(rb.is_ok());
    REQUIRE(rb->size() == 7);  // batch 8 by default
    CHECK(rb->features(0)[0] == 10.0f);
    CHECK(rb->features(0)[3] == 100.0f);
    CHECK(rb->target_dim() == 2);  // every column by default
    CHECK(rb->target(0)[1] == 94.0f);
    CHECK_FALSE((*rs)->normalizer().has_value());
  }
}

TEST_CASE("windowed stream specs: what goes with what", "[unit][stream]") {
  auto ok = parse_data_spec("stream:-:window=24:horizon=2:target=0,2:norm=none:features=3");
  REQUIRE(ok.is_ok());
  CHECK(ok->stream_windows);
  CHECK(to_string(*ok) == "stream:-:window=24:horizon=2:target=0,2:norm=none:batch=8:buffer=1024:features=3");
  CHECK(parse_data_spec(to_string(*ok)).is_ok());
  for (const char* bad : {"stream:-:horizon=2", "stream:-:target=1", "stream:-:norm=fit", "stream:-:window=4:label=2",
                          "stream:-:window=4:classes=3", "stream:-:window=4:target=temp",
                          "stream:-:window=4:norm=model"}) {
    INFO(bad);
    CHECK(parse_data_spec(bad).status().code() == edgefed::Code::kInvalidArgument);
  }
}
