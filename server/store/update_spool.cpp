#include "server/store/update_spool.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace edgefed::server {

namespace {

// Record header (FORMAT.md, "Update spool"): magic, the record's logical
// offset, the body's length, XXH3-64 of the body; little-endian.
constexpr char kMagic[8] = {'E', 'F', 'S', 'P', 'O', 'O', 'L', '1'};

void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

class PosixSpoolFile final : public SpoolFile {
 public:
  PosixSpoolFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixSpoolFile() override { ::close(fd_); }

  Status write(int64_t offset, std::span<const uint8_t> head, std::span<const uint8_t> body) override {
    iovec iov[2] = {{const_cast<uint8_t*>(head.data()), head.size()},
                    {const_cast<uint8_t*>(body.data()), body.size()}};
    size_t want = head.size() + body.size();
    const int64_t start = offset;
    // pwritev may write less than asked (a signal, a full disk): finish it.
    int first = 0;
    while (want > 0) {
      const ssize_t n = ::pwritev(fd_, iov + first, 2 - first, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status(Code::kIo, "write " + path_ + ": " + std::strerror(errno));
      }
      if (n == 0) return Status(Code::kIo, "write " + path_ + ": no progress");
      want -= static_cast<size_t>(n);
      offset += n;
      size_t done = static_cast<size_t>(n);
      while (first < 2 && done >= iov[first].iov_len) done -= iov[first++].iov_len;
      if (first < 2) {
        iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + done;
        iov[first].iov_len -= done;
      }
    }
    // Start writing the record to disk now, without waiting: by the time
    // its batch's fdatasync runs (after the writer's queue and transaction)
    // most of it is on disk, so that fsync, which every answer waits for,
    // is shorter (benchmarks/README.md, "Server ingest vs nginx").
    // Advisory: an error here changes nothing, sync() still decides.
    (void)::sync_file_range(fd_, start, static_cast<off64_t>(head.size() + body.size()), SYNC_FILE_RANGE_WRITE);
    return Status::ok();
  }

  Status read(int64_t offset, std::span<uint8_t> out) override {
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, offset + static_cast<int64_t>(got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status(Code::kIo, "read " + path_ + ": " + std::strerror(errno));
      }
      if (n == 0) return Status(Code::kNotFound, "read " + path_ + ": the record is past the end of the file");
      got += static_cast<size_t>(n);
    }
    return Status::ok();
  }

  Status sync() override {
    if (::fdatasync(fd_) != 0) return Status(Code::kIo, "fdatasync " + path_ + ": " + std::strerror(errno));
    return Status::ok();
  }

 private:
  const int fd_;
  const std::string path_;
};

}  // namespace

Result<std::unique_ptr<SpoolFile>> posix_spool_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kIo, "open " + path + ": " + std::strerror(errno));
  return std::unique_ptr<SpoolFile>(new PosixSpoolFile(fd, path));
}

UpdateSpool::UpdateSpool(std::unique_ptr<SpoolFile> file, int64_t capacity)
    : file_(std::move(file)), capacity_(capacity) {}

Result<SpoolExtent> UpdateSpool::append(std::span<const uint8_t> body) {
  const int64_t bytes = kHeaderBytes + static_cast<int64_t>(body.size());
  int64_t offset = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (bytes > capacity_) return Status(Code::kUnavailable, "the body is larger than the update spool");
    offset = head_;
    // A record never wraps: one that would cross the end starts the next lap.
    if (offset % capacity_ + bytes > capacity_) offset += capacity_ - offset % capacity_;
    const int64_t tail = live_.empty() ? offset : live_.begin()->first;
    if (offset + bytes - tail > capacity_) return Status(Code::kUnavailable, "the update spool is full");
    live_.emplace(offset, bytes);
    head_ = offset + bytes;
  }
  uint8_t head[kHeaderBytes];
  std::memcpy(head, kMagic, 8);
  put_u64(head + 8, static_cast<uint64_t>(offset));
  put_u64(head + 16, body.size());
  put_u64(head + 24, XXH3_64bits(body.data(), body.size()));
  // Outside the lock: appends of different connections write in parallel.
  Status st = file_->write(offset % capacity_, head, body);
  if (!st.is_ok()) {
    release(offset);
    return st;
  }
  written_.fetch_add(1, std::memory_order_release);
  return SpoolExtent{offset, static_cast<int64_t>(body.size())};
}

Result<std::vector<uint8_t>> UpdateSpool::read(const SpoolExtent& e) {
  if (e.offset < 0 || e.length < 0 || kHeaderBytes + e.length > capacity_) {
    return Status(Code::kNotFound, "update spool: extent " + std::to_string(e.offset) + "+" + std::to_string(e.length) +
                                 " does not fit the spool");
  }
  std::vector<uint8_t> record(static_cast<size_t>(kHeaderBytes + e.length));
  EDGEFED_RETURN_IF_ERROR(file_->read(e.offset % capacity_, record));
  const uint8_t* h = record.data();
  const bool ok = std::memcmp(h, kMagic, 8) == 0 && get_u64(h + 8) == static_cast<uint64_t>(e.offset) &&
                  get_u64(h + 16) == static_cast<uint64_t>(e.length) &&
                  get_u64(h + 24) == XXH3_64bits(h + kHeaderBytes, static_cast<size_t>(e.length));
  if (!ok) {
    return Status(Code::kNotFound, "update spool: no intact record at offset " + std::to_string(e.offset) +
                                 " (written after the last fsync before a crash, or damaged)");
  }
  record.erase(record.begin(), record.begin() + kHeaderBytes);
  return record;
}

void UpdateSpool::adopt(const SpoolExtent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  live_[e.offset] = kHeaderBytes + e.length;
  head_ = std::max(head_, e.offset + kHeaderBytes + e.length);
}

void UpdateSpool::start_at_least(int64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  // With live extents the head stays right after them (a jump would leave
  // the ring full until they are released).
  if (!live_.empty()) return;
  head_ = std::max(head_, offset);
  head_ += (capacity_ - head_ % capacity_) % capacity_;  // a lap's first byte
}

void UpdateSpool::release(int64_t offset) { release(std::span<const int64_t>(&offset, 1)); }

void UpdateSpool::release(std::span<const int64_t> offsets) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const int64_t o : offsets) live_.erase(o);
}

Status UpdateSpool::sync() {
  const uint64_t seen = written_.load(std::memory_order_acquire);
  if (seen == synced_.load(std::memory_order_acquire)) return Status::ok();
  EDGEFED_RETURN_IF_ERROR(file_->sync());
  uint64_t was = synced_.load();
  while (was < seen && !synced_.compare_exchange_weak(was, seen)) {
  }
  return Status::ok();
}

int64_t UpdateSpool::used_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.empty() ? 0 : head_ - live_.begin()->first;
}

int64_t UpdateSpool::live_extents() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(live_.size());
}

}  // namespace edgefed::server
