// Newline-delimited CSV records (features..., label; see parse_csv_record)
// arriving over time from a FIFO, a pipe on stdin ("-") or a file, for online
// training in small batches as records arrive. Reads with poll() and
// non-blocking reads, so a caller can wait with a timeout and still react to
// shutdown. A FIFO opened before its writer waits for one; end of input is
// when the last writer closes (or the end of a regular file).
//
// Bounded buffer: at most `buffer` parsed records are held; when full the
// source stops reading, so a FIFO writer blocks (back-pressure) rather than
// the agent growing without bound. Lines longer than 64 KiB and malformed
// records (non-numeric, NaN, wrong width, bad label) are skipped and counted;
// the last such error is kept for telemetry.
//
// Windows (window=W): each line is one time step of C sensor readings
// (numbers only, no label). Once W + H steps have arrived, every new step
// completes one sample laid out as a series window (series_reader.hpp):
// x[f*W + k] = column f at t + k, y[c*H + h] = target column c at
// t + W + h. With norm=fit (the default) each column is standardised with
// the running mean and std of every reading seen so far (Welford), frozen
// into the sample when it is cut; normalizer() gives those statistics
// (C feature channels, then one per target) for the update metadata.
//
// Thread safety: not thread-safe; one consumer.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/ml/data_spec.hpp"
#include "edgefed/ml/dataset.hpp"
#include "edgefed/ml/normalizer.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

struct StreamStats {
  int64_t records = 0;    // accepted records
  int64_t malformed = 0;  // skipped lines
  std::string last_error;
};

class StreamSource {
 public:
  // Opens spec.path ("-" = stdin, not closed on destruction). kIo if the
  // path cannot be opened. REQUIRES: spec.kind == kStream.
  static Result<std::unique_ptr<StreamSource>> open(const DataSpec& spec);
  ~StreamSource();
  StreamSource(const StreamSource&) = delete;
  StreamSource& operator=(const StreamSource&) = delete;

  // Waits up to `timeout` for spec.batch records (returns early at end of
  // input) and returns what arrived: possibly fewer records, or an empty
  // Dataset on timeout. After end of input (eof() true) the remaining
  // buffered records are returned, then empty batches. kIo on read errors.
  Result<Dataset> next_batch(std::chrono::milliseconds timeout);

  bool eof() const { return eof_ && pending_.empty() && partial_.empty(); }
  int64_t buffered() const { return static_cast<int64_t>(pending_.size()); }
  const StreamStats& stats() const { return stats_; }
  int feature_count() const { return dim_; }
  // Windows with norm=fit, after the first reading: the running
  // standardisation (C + T channels); nullopt otherwise.
  std::optional<Normalizer> normalizer() const;

 private:
  struct Record {
    std::vector<float> x;
    int32_t y;
    std::vector<float> t;  // windows: targets
  };
  void accept_reading(std::string_view line);  // windows: one time step
  Normalizer running() const;                  // windows: the C columns' statistics so far
  StreamSource(int fd, bool owns_fd, const DataSpec& spec);
  Status fill(std::chrono::milliseconds timeout);  // read what is available
  void take_lines();                                 // parse complete lines
  void accept_line(std::string_view line);
  Dataset make_batch();

  int fd_;
  bool owns_fd_;
  int label_col_;
  int num_classes_;
  int dim_;
  size_t batch_;
  size_t capacity_;
  bool eof_ = false;
  bool skipping_long_line_ = false;
  std::string partial_;
  std::deque<Record> pending_;
  std::vector<float> scratch_;
  StreamStats stats_;
  // Windows.
  bool windows_ = false;
  int window_ = 0, horizon_ = 0;
  bool normalize_ = true;
  std::vector<size_t> targets_;  // target columns as given (empty = every column)
  std::vector<size_t> target_cols_;  // resolved at the first reading
  std::deque<std::vector<double>> history_;  // the last W + H readings, raw
  int64_t seen_ = 0;                          // readings counted in the running stats
  std::vector<double> mean_, m2_;             // Welford, per column
};

}  // namespace edgefed::ml
