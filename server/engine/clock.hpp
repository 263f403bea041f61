// The engine's time source, behind an interface so tests can move time
// without sleeping (LevelDB's Env idea, reduced to what the engine needs).
#pragma once

#include <atomic>
#include <cstdint>

namespace edgefed::server {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic seconds (arbitrary epoch): round and buffer timeouts.
  virtual double monotonic_s() const = 0;
  // Wall-clock unix milliseconds: timestamps stored and reported.
  virtual int64_t unix_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  double monotonic_s() const override;
  int64_t unix_ms() const override;
};

// Starts at monotonic 0 and unix_ms = start_unix_ms; moves only by advance().
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_unix_ms = 1'700'000'000'000) : unix_start_(start_unix_ms) {}
  double monotonic_s() const override { return now_ms_.load() / 1000.0; }
  int64_t unix_ms() const override { return unix_start_ + now_ms_.load(); }
  void advance_s(double seconds) { now_ms_ += static_cast<int64_t>(seconds * 1000.0); }

 private:
  int64_t unix_start_;
  std::atomic<int64_t> now_ms_{0};
};

}  // namespace edgefed::server
