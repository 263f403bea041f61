// The digest the update ledger keeps of each accepted body. Its one job is
// to tell a retry (same agent, same update_id, same bytes: answered with the
// original ack) from a different body that reuses an update_id (409). It is
// not a security boundary: the agent is authenticated by its certificate,
// and two of its own bodies that collided could only make its second update
// count as a retry of its first. So a fast non-cryptographic 128-bit hash
// (XXH3, libxxhash) does it: SHA-256 of each 400 KB body was 10 % of the
// server's CPU per update (benchmarks/README.md, "Ingest vs nginx").
//
// Thread safety: pure functions. Errors: none.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "server/store/records.hpp"

namespace edgefed::server {

// "xxh3-128:" and 32 lowercase hex digits.
std::string body_digest(std::span<const uint8_t> body);

// Whether `stored` (a ledger row's digest) names `body`, whose body_digest()
// is `digest`. Rows written before the XXH3 digest hold the body's SHA-256
// as 64 hex digits: those are checked by hashing the body with SHA-256 (a
// retry across an upgrade is rare, so the slow path is too).
bool digest_matches(const std::string& stored, std::span<const uint8_t> body, const std::string& digest);

// Whether a pending ledger row's body, as read back, is the one the row was
// accepted with. Only a body from the update spool can be missing or
// another (written after the last fsync before a crash: such an update was
// never acknowledged); a row's own payload column always is.
bool pending_body_intact(const LedgerEntry& e, std::span<const uint8_t> body);

}  // namespace edgefed::server
