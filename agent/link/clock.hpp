// The agent's time source, behind an interface so tests and the simulator
// can move time without sleeping.
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace edgefed::agent {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock unix milliseconds: timestamps stored and reported.
  virtual int64_t unix_ms() const = 0;
  // Monotonic milliseconds (arbitrary epoch): intervals, backoff deadlines.
  virtual int64_t monotonic_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t unix_ms() const override;
  int64_t monotonic_ms() const override;
  // A process-wide instance.
  static const SystemClock& instance();
};

// Starts at monotonic 0 and the given unix time; moves only by advance_ms().
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_unix_ms = 1'700'000'000'000) : unix_start_(start_unix_ms) {}
  int64_t unix_ms() const override { return unix_start_ + now_ms_.load(); }
  int64_t monotonic_ms() const override { return now_ms_.load(); }
  void advance_ms(int64_t ms) { now_ms_ += ms; }

 private:
  int64_t unix_start_;
  std::atomic<int64_t> now_ms_{0};
};

}  // namespace edgefed::agent
