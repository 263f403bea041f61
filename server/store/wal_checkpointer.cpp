#include "server/store/wal_checkpointer.hpp"

#include <pthread.h>

#include <system_error>

#include "edgefed/log.hpp"

namespace edgefed::server {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(sqlite::Database& writer, const std::string& path,
                                                                const sqlite::OpenOptions& open, Options options) {
  auto own = sqlite::Database::open(path, open);
  if (!own.is_ok()) return own.status();
  // What a checkpoint syncs: the log before it copies, the database after.
  EDGEFED_RETURN_IF_ERROR((*own)->exec("PRAGMA synchronous=NORMAL"));
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(writer, std::move(own).value(), options));
  try {
    c->thread_ = std::thread([p = c.get()] { p->loop(); });
  } catch (const std::system_error& e) {
    return Status(Code::kIo, std::string("start the checkpoint thread: ") + e.what());
  }
  writer.set_wal_hook([p = c.get()](int frames) { p->on_commit(frames); });
  return c;
}

WalCheckpointer::WalCheckpointer(sqlite::Database& writer, std::unique_ptr<sqlite::Database> own, Options options)
    : writer_(writer), own_(std::move(own)), options_(options) {}

WalCheckpointer::~WalCheckpointer() {
  writer_.set_wal_hook({});
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WalCheckpointer::on_commit(int log_frames) {
  if (finished_.exchange(false)) {
    // What was committed while the background pass ran: once it is copied
    // too, the next write transaction starts the log over.
    catch_ups_.fetch_add(1, std::memory_order_relaxed);
    (void)writer_.checkpoint();  // a failure leaves the log longer; the next pass retries
    return;
  }
  if (log_frames >= options_.hard_frames) {
    inline_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    (void)writer_.checkpoint();
    return;
  }
  if (log_frames < options_.soft_frames || running_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

void WalCheckpointer::loop() {
  pthread_setname_np(pthread_self(), "edgefed-ckpt");
  bool failing = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || wake_; });
      if (stop_) return;
      wake_ = false;
    }
    auto progress = own_->checkpoint();
    if (progress.is_ok()) {
      background_passes_.fetch_add(1, std::memory_order_relaxed);
      if (failing) log::info("wal_checkpoint_resumed").kv("path", own_->path());
      failing = false;
      finished_ = true;
    } else if (!failing) {
      // The writer's hard limit still bounds the log; say so once.
      log::warn("wal_checkpoint_failed").kv("path", own_->path()).kv("error", progress.status().to_string());
      failing = true;
    }
    running_ = false;
  }
}

}  // namespace edgefed::server
