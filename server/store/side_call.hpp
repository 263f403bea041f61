// SideCall: one long-lived thread that runs a fixed Status() call each time
// it is started, so the caller can do other work meanwhile and then collect
// the result. Store::sync_committed() fsyncs the update spool on it while it
// fsyncs the WAL itself: each fsync mostly waits for the disk, and a thread
// started per fsync (std::async) cost a clone, a stack and two more context
// switches a few hundred times a second.
//
// Thread safety: start() and wait() are called by one thread at a time, in
// pairs (start, then wait before the next start). The call runs on the
// helper thread.
// Errors: none of its own; wait() returns the call's Status. Were the thread
// not created (std::system_error at construction), wait() runs the call on
// the caller's thread instead: the same result, one after the other.
// Ownership: the destructor waits for a started call, then joins.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "edgefed/status.hpp"

namespace edgefed::server {

class SideCall {
 public:
  // `name` names the thread (15 characters at most are kept).
  SideCall(std::function<Status()> call, const char* name);
  ~SideCall();
  SideCall(const SideCall&) = delete;
  SideCall& operator=(const SideCall&) = delete;

  // Starts the call on the helper thread (REQUIRES: none started and not
  // waited for).
  void start();
  // Waits for the started call and returns its result.
  Status wait();

 private:
  void run(const char* name);

  const std::function<Status()> call_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;  // under mu_: a start() not yet picked up
  bool running_ = false;  // under mu_: picked up, result not yet set
  bool stop_ = false;     // under mu_
  bool pending_ = false;  // the caller's own: start()ed, not wait()ed
  Status result_;         // under mu_
  std::thread thread_;    // not joinable: no helper, wait() calls inline
};

}  // namespace edgefed::server
