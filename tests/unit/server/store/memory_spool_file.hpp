// An in-memory update spool file (server/store/update_spool.hpp's seam)
// with switchable faults, for the spool's store and engine tests.
#pragma once

#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "edgefed/status.hpp"
#include "server/store/update_spool.hpp"

namespace edgefed::testing {

// An in-memory file with switchable faults; shared so a test can look at
// it after the spool took ownership of its handle. Set the switches while
// no call is running.
struct MemoryFile {
  std::mutex mu;
  std::vector<uint8_t> bytes;
  bool fail_writes = false;
  bool fail_syncs = false;
  bool drop_writes = false;  // report success, write nothing (lost by a crash)
  int syncs = 0;
};

class MemorySpoolFile final : public server::SpoolFile {
 public:
  explicit MemorySpoolFile(std::shared_ptr<MemoryFile> f) : f_(std::move(f)) {}
  edgefed::Status write(int64_t offset, std::span<const uint8_t> head, std::span<const uint8_t> body) override {
    std::lock_guard<std::mutex> lock(f_->mu);
    if (f_->fail_writes) return edgefed::Status(edgefed::Code::kIo, "injected: write failed");
    if (f_->drop_writes) return edgefed::Status::ok();
    const size_t end = static_cast<size_t>(offset) + head.size() + body.size();
    if (f_->bytes.size() < end) f_->bytes.resize(end);
    std::memcpy(f_->bytes.data() + offset, head.data(), head.size());
    std::memcpy(f_->bytes.data() + offset + head.size(), body.data(), body.size());
    return edgefed::Status::ok();
  }
  edgefed::Status read(int64_t offset, std::span<uint8_t> out) override {
    std::lock_guard<std::mutex> lock(f_->mu);
    if (static_cast<size_t>(offset) + out.size() > f_->bytes.size()) {
      return edgefed::Status(edgefed::Code::kNotFound, "past the end");
    }
    std::memcpy(out.data(), f_->bytes.data() + offset, out.size());
    return edgefed::Status::ok();
  }
  edgefed::Status sync() override {
    std::lock_guard<std::mutex> lock(f_->mu);
    if (f_->fail_syncs) return edgefed::Status(edgefed::Code::kIo, "injected: fdatasync failed");
    ++f_->syncs;
    return edgefed::Status::ok();
  }

 private:
  std::shared_ptr<MemoryFile> f_;
};

// What StoreOptions::spool_file (EngineOptions::store_spool_file) takes:
// every open of the spool gets `file`.
inline std::function<Result<std::unique_ptr<server::SpoolFile>>(const std::string&)> memory_spool_opener(
    std::shared_ptr<MemoryFile> file) {
  return [file](const std::string&) -> Result<std::unique_ptr<server::SpoolFile>> {
    return std::unique_ptr<server::SpoolFile>(new MemorySpoolFile(file));
  };
}

}  // namespace edgefed::testing
