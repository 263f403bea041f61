#include "edgefed/ml/stream_source.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "edgefed/ml/csv_reader.hpp"

namespace edgefed::ml {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxLine = 64 * 1024;
constexpr int kDefaultStreamClasses = 10;

}  // namespace

Result<std::unique_ptr<StreamSource>> StreamSource::open(const DataSpec& spec) {
  if (spec.kind != DataKind::kStream) return Status(Code::kInvalidArgument, "StreamSource: not a stream spec");
  if (spec.label != "last" &&
      (spec.label.empty() || spec.label.size() > 6 ||
       !std::all_of(spec.label.begin(), spec.label.end(), [](unsigned char c) { return c >= '0' && c <= '9'; })))
    return Status(Code::kInvalidArgument, "stream: label must be a column index or 'last', not '" + spec.label + "'");
  int fd = 0;
  bool owns = false;
  if (spec.path != "-") {
    // Non-blocking open: a FIFO without a writer yet opens at once, and poll()
    // waits for the writer instead of this call blocking the agent.
    fd = ::open(spec.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return Status(Code::kIo, spec.path + ": cannot open: " + std::strerror(errno));
    owns = true;
  }
  return std::unique_ptr<StreamSource>(new StreamSource(fd, owns, spec));
}

StreamSource::StreamSource(int fd, bool owns_fd, const DataSpec& spec)
    : fd_(fd),
      owns_fd_(owns_fd),
      label_col_(spec.label == "last" ? -1 : std::stoi(spec.label)),
      num_classes_(spec.num_classes > 0 ? spec.num_classes : kDefaultStreamClasses),
      dim_(spec.features),
      batch_(static_cast<size_t>(std::max(1, spec.batch))),
      capacity_(static_cast<size_t>(std::max(spec.buffer, spec.batch))),
      windows_(spec.stream_windows),
      window_(spec.window),
      horizon_(spec.horizon),
      normalize_(spec.normalize) {
  for (const auto& t : spec.targets) targets_.push_back(static_cast<size_t>(std::stoul(t)));
}

StreamSource::~StreamSource() {
  if (owns_fd_) ::close(fd_);
}

void StreamSource::accept_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty() || line.front() == '#') return;
  if (windows_) return accept_reading(line);
  int32_t y = 0;
  Status st = parse_csv_record(line, label_col_, num_classes_, scratch_, y);
  if (st && dim_ > 0 && static_cast<int>(scratch_.size()) != dim_)
    st = Status(Code::kInvalidArgument, "record has " + std::to_string(scratch_.size()) + " features, want " +
                                            std::to_string(dim_));
  if (!st) {
    ++stats_.malformed;
    stats_.last_error = "record " + std::to_string(stats_.records + stats_.malformed) + ": " + st.message();
    return;
  }
  if (dim_ == 0) dim_ = static_cast<int>(scratch_.size());
  pending_.push_back({scratch_, y, {}});
  ++stats_.records;
}

Normalizer StreamSource::running() const {
  std::vector<double> var(m2_.size());
  for (size_t c = 0; c < var.size(); ++c) var[c] = m2_[c] / static_cast<double>(seen_);
  return Normalizer::from_moments(mean_, var);
}

std::optional<Normalizer> StreamSource::normalizer() const {
  if (!windows_ || !normalize_ || seen_ == 0) return std::nullopt;
  Normalizer n = running();
  for (size_t c : target_cols_) {  // then one channel per target, as series do
    n.mean.push_back(n.mean[c]);
    n.std.push_back(n.std[c]);
  }
  return n;
}

void StreamSource::accept_reading(std::string_view line) {
  std::vector<double> row;
  std::string why;
  while (why.empty()) {
    const size_t comma = line.find(',');
    std::string_view field = line.substr(0, comma);
    while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
    while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
    double v = 0;
    const auto r = std::from_chars(field.data(), field.data() + field.size(), v);
    if (field.empty() || r.ec != std::errc() || r.ptr != field.data() + field.size() || !std::isfinite(v))
      why = "reading " + std::to_string(row.size()) + " is not a finite number";
    row.push_back(v);
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  if (why.empty() && dim_ > 0 && static_cast<int>(row.size()) != dim_)
    why = "record has " + std::to_string(row.size()) + " readings, want " + std::to_string(dim_);
  for (size_t t : targets_)
    if (why.empty() && t >= row.size())
      why = "target column " + std::to_string(t) + " is beyond the record's " + std::to_string(row.size()) + " readings";
  if (!why.empty()) {
    ++stats_.malformed;
    stats_.last_error = "record " + std::to_string(stats_.records + stats_.malformed) + ": " + why;
    return;
  }
  if (dim_ == 0) dim_ = static_cast<int>(row.size());
  if (mean_.empty()) {
    mean_.assign(row.size(), 0.0);
    m2_.assign(row.size(), 0.0);
    target_cols_ = targets_;
    if (target_cols_.empty())
      for (size_t c = 0; c < row.size(); ++c) target_cols_.push_back(c);
  }
  ++seen_;
  for (size_t c = 0; c < row.size(); ++c) {  // Welford
    const double d = row[c] - mean_[c];
    mean_[c] += d / static_cast<double>(seen_);
    m2_[c] += d * (row[c] - mean_[c]);
  }
  ++stats_.records;
  history_.push_back(std::move(row));
  const size_t span = static_cast<size_t>(window_ + horizon_);
  if (history_.size() > span) history_.pop_front();
  if (history_.size() < span) return;
  // The statistics as of this reading, frozen into the sample.
  // (A Normalizer and a flag rather than std::optional: GCC 12 for aarch64
  // warns of a maybe-uninitialized optional here, a false positive.)
  Normalizer n;
  if (normalize_) n = running();
  auto z = [&](size_t c, double v) { return static_cast<float>(normalize_ ? n.apply(c, v) : v); };
  const size_t channels = static_cast<size_t>(dim_), w = static_cast<size_t>(window_),
               h_steps = static_cast<size_t>(horizon_);
  Record rec;
  rec.y = 0;
  rec.x.resize(channels * w);
  for (size_t f = 0; f < channels; ++f)
    for (size_t k = 0; k < w; ++k) rec.x[f * w + k] = z(f, history_[k][f]);
  rec.t.resize(target_cols_.size() * h_steps);
  for (size_t c = 0; c < target_cols_.size(); ++c)
    for (size_t h = 0; h < h_steps; ++h) rec.t[c * h_steps + h] = z(target_cols_[c], history_[w + h][target_cols_[c]]);
  pending_.push_back(std::move(rec));
}

void StreamSource::take_lines() {
  size_t start = 0;
  while (pending_.size() < capacity_) {
    const size_t nl = partial_.find('\n', start);
    if (nl == std::string::npos) break;
    if (skipping_long_line_) skipping_long_line_ = false;  // the tail of an over-long line
    else accept_line(std::string_view(partial_).substr(start, nl - start));
    start = nl + 1;
  }
  partial_.erase(0, start);
  if (partial_.size() > kMaxLine && partial_.find('\n') == std::string::npos) {
    partial_.clear();
    if (!skipping_long_line_) {
      skipping_long_line_ = true;
      ++stats_.malformed;
      stats_.last_error = "record longer than " + std::to_string(kMaxLine) + " bytes skipped";
    }
  }
  if (eof_ && pending_.size() < capacity_ && !partial_.empty() && partial_.find('\n') == std::string::npos) {
    if (!skipping_long_line_) accept_line(partial_);  // last record without a newline
    partial_.clear();
  }
}

Status StreamSource::fill(std::chrono::milliseconds timeout) {
  if (eof_ || pending_.size() >= capacity_) return Status::ok();  // bounded: let the writer wait
  pollfd p{fd_, POLLIN, 0};
  const int ms = static_cast<int>(std::clamp<int64_t>(timeout.count(), 0, 60'000));
  const int r = ::poll(&p, 1, ms);
  if (r < 0) return errno == EINTR ? Status::ok() : Status(Code::kIo, std::string("stream: poll: ") + std::strerror(errno));
  if (r == 0) return Status::ok();
  char buf[kReadChunk];
  const ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return Status::ok();
    return Status(Code::kIo, std::string("stream: read: ") + std::strerror(errno));
  }
  if (n == 0) eof_ = true;  // the last writer closed (poll reports a hangup only after a writer came)
  partial_.append(buf, static_cast<size_t>(n));
  return Status::ok();
}

Dataset StreamSource::make_batch() {
  const size_t k = std::min(batch_, pending_.size());
  DataStore s;
  if (windows_) {
    const Record& first = pending_.front();
    s.features.resize(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(first.x.size()));
    s.targets.resize(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(first.t.size()));
    for (size_t i = 0; i < k; ++i) {
      const Record& r = pending_.front();
      std::copy(r.x.begin(), r.x.end(), s.features.row(static_cast<Eigen::Index>(i)).data());
      std::copy(r.t.begin(), r.t.end(), s.targets.row(static_cast<Eigen::Index>(i)).data());
      pending_.pop_front();
    }
    return Dataset::own(std::move(s));
  }
  s.num_classes = num_classes_;
  s.features.resize(static_cast<Eigen::Index>(k), dim_);
  s.labels.resize(k);
  for (size_t i = 0; i < k; ++i) {
    const Record& r = pending_.front();
    std::copy(r.x.begin(), r.x.end(), s.features.row(static_cast<Eigen::Index>(i)).data());
    s.labels[i] = r.y;
    pending_.pop_front();
  }
  return Dataset::own(std::move(s));
}

Result<Dataset> StreamSource::next_batch(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    take_lines();
    if (pending_.size() >= batch_ || eof_) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    EDGEFED_RETURN_IF_ERROR(fill(left));
  }
  if (pending_.empty()) return Dataset();
  return make_batch();
}

}  // namespace edgefed::ml
