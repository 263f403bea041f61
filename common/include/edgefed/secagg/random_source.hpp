// Where secure aggregation's randomness comes from: OpenSSL's CSPRNG in
// production, a seeded stream where a test or a simulation must replay
// exactly the same keys, seeds and shares.
//
// Thread safety: system_random() may be called from any thread;
// a deterministic_random() source keeps its position in shared state and
// must be used from one thread at a time.
// Errors: a source that cannot produce bytes returns kInternal.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

// Fills the span with random bytes, or says why it could not.
using RandomSource = std::function<Status(std::span<std::uint8_t>)>;

// OpenSSL's RAND_bytes.
RandomSource system_random();

// The ChaCha20 keystream of `seed`: every call continues where the last
// one stopped (copies of the function share that position). Reproducible,
// therefore never for real secrets.
RandomSource deterministic_random(const Key32& seed);

// 32 fresh random bytes (a self-mask seed, a test key).
Result<Key32> random_key(const RandomSource& random);

}  // namespace edgefed::secagg
