#include "server/store/side_call.hpp"

#include <pthread.h>

#include <string>
#include <system_error>

namespace edgefed::server {

SideCall::SideCall(std::function<Status()> call, const char* name) : call_(std::move(call)) {
  try {
    thread_ = std::thread([this, name] { run(name); });
  } catch (const std::system_error&) {
    // No thread: wait() runs the call itself.
  }
}

SideCall::~SideCall() {
  if (pending_) (void)wait();
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SideCall::start() {
  pending_ = true;
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
  }
  cv_.notify_all();
}

Status SideCall::wait() {
  pending_ = false;
  if (!thread_.joinable()) return call_();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !started_ && !running_; });
  return std::move(result_);
}

void SideCall::run(const char* name) {
  pthread_setname_np(pthread_self(), std::string(name).substr(0, 15).c_str());
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return started_ || stop_; });
    if (!started_) return;  // stopping, with nothing asked
    started_ = false;
    running_ = true;
    lock.unlock();
    Status st = call_();
    lock.lock();
    result_ = std::move(st);
    running_ = false;
    cv_.notify_all();
  }
}

}  // namespace edgefed::server
