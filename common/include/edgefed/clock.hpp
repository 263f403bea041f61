// The one time source of agent and server, behind an interface so that
// tests and the simulator move time without sleeping (LevelDB's Env idea,
// reduced to time). Production code takes a `const Clock&` (or pointer) and
// uses SystemClock::instance() by default.
//
// Thread safety: every implementation here is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace edgefed {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock unix milliseconds: timestamps stored and reported.
  virtual int64_t unix_ms() const = 0;
  // Monotonic nanoseconds (arbitrary epoch): intervals, deadlines, timeouts.
  virtual int64_t monotonic_ns() const = 0;

  int64_t monotonic_ms() const { return monotonic_ns() / 1'000'000; }
  double monotonic_s() const { return static_cast<double>(monotonic_ns()) * 1e-9; }
};

class SystemClock final : public Clock {
 public:
  int64_t unix_ms() const override;
  int64_t monotonic_ns() const override;
  // A process-wide instance.
  static const SystemClock& instance();
};

// Starts at monotonic 0 and the given unix time; moves only when a test
// advances it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_unix_ms = 1'700'000'000'000) : unix_start_ms_(start_unix_ms) {}
  int64_t unix_ms() const override { return unix_start_ms_ + now_ns_.load() / 1'000'000; }
  int64_t monotonic_ns() const override { return now_ns_.load(); }
  void advance_ms(int64_t ms) { now_ns_ += ms * 1'000'000; }
  void advance_s(double seconds) { now_ns_ += static_cast<int64_t>(seconds * 1e9); }

 private:
  int64_t unix_start_ms_;
  std::atomic<int64_t> now_ns_{0};
};

}  // namespace edgefed
