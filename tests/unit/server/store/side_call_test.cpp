// SideCall (server/store/side_call.hpp): the store's long-lived helper
// thread for the spool's fsync: each start() runs the call once on that
// thread, beside the caller, and wait() returns its result.
#include "server/store/side_call.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using edgefed::Code;
using edgefed::Status;
using edgefed::server::SideCall;

TEST_CASE("SideCall runs its call on one other thread each time it is started, and returns that call's result",
          "[side_call]") {
  std::atomic<int> calls{0};
  std::thread::id ran_on;
  std::thread::id first_thread;
  SideCall side(
      [&] {
        ran_on = std::this_thread::get_id();
        const int n = ++calls;
        return n % 2 == 0 ? Status(Code::kIo, "even call " + std::to_string(n)) : Status::ok();
      },
      "test-side");
  for (int round = 1; round <= 6; ++round) {
    side.start();
    const Status st = side.wait();
    CHECK(calls.load() == round);
    CHECK(ran_on != std::this_thread::get_id());
    if (round == 1) first_thread = ran_on;
    CHECK(ran_on == first_thread);  // the same long-lived thread every time
    if (round % 2 == 0) {
      CHECK(st.code() == Code::kIo);
      CHECK(st.message() == "even call " + std::to_string(round));
    } else {
      CHECK(st.is_ok());
    }
  }
}

TEST_CASE("SideCall overlaps its call with the caller's own work", "[side_call]") {
  // The call runs before the caller gets to wait(): were it run inside
  // wait() (one after the other), the caller would never see it started.
  std::atomic<bool> call_started{false};
  SideCall side(
      [&] {
        call_started = true;
        return Status::ok();
      },
      "test-overlap");
  side.start();
  for (int i = 0; i < 5000 && !call_started.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(call_started.load());
  CHECK(side.wait().is_ok());
}

TEST_CASE("SideCall destroyed with a call started and not waited for finishes the call first", "[side_call]") {
  std::atomic<bool> finished{false};
  {
    SideCall side(
        [&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          finished = true;
          return Status::ok();
        },
        "test-dtor");
    side.start();
  }
  CHECK(finished.load());
}
