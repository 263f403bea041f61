#include "server/engine/clock.hpp"

#include <chrono>

namespace edgefed::server {

double SystemClock::monotonic_s() const {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::unix_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace edgefed::server
