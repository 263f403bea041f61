// Rows of the state database (FORMAT.md describes the tables in prose).
// Plain values; copying them is cheap except for blobs, which are passed
// separately as spans.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edgefed::server {

// The ledger's agent for secure-aggregation sums. Its update ids are
// session ids (random, server-made), so even an agent whose certificate
// says "secagg" cannot collide with one; its rows never count as an agent.
inline constexpr const char* kSecAggLedgerAgent = "secagg";

// ledger.consumed_by_version for updates dropped without merging (their
// base model was replaced by set_model/init_model/rollback).
inline constexpr int64_t kDiscarded = -1;
// consumed_by_version of a ledger row a site relay forwarded upstream in a
// partial sum (relay_batch_table.hpp).
inline constexpr int64_t kForwarded = -2;

// Where a pending update's body is when not in the ledger's payload
// column: bytes [offset, offset + length) of the update spool's logical
// stream (update_spool.hpp).
struct SpoolExtent {
  int64_t offset = 0;
  int64_t length = 0;
};

struct LedgerEntry {
  int64_t id = 0;                  // acceptance order (rowid)
  std::string agent;
  std::string update_id;
  std::string body_digest;         // column body_sha256 (FORMAT.md): tells a retry from a different body
  int64_t accepted_unix_ms = 0;
  int64_t accepted_version = 0;    // server version at accept = merge target's parent
  int64_t base_version = 0;
  int64_t num_samples = 0;
  double train_loss = 0.0;
  int64_t staleness = 0;
  double weight = 0.0;
  double norm2 = 0.0;              // ||delta||^2
  std::string ack_json;            // the answer given, returned again on retries
  std::optional<int64_t> consumed_by_version;  // nullopt = pending
  // Set on insert when the body is in the update spool (SQLite store only),
  // and on the pending rows read back with it. A body that did not reach
  // the spool's disk before a crash comes back empty with body_lost set.
  std::optional<SpoolExtent> spooled;
  bool body_lost = false;
};

struct VersionRecord {
  int64_t version = 0;
  std::optional<int64_t> parent;   // nullopt for the first version
  std::string kind;                // "init" | "merge" | "set" | "rollback"
  int64_t created_unix_ms = 0;
  std::string layout_fingerprint;
  int64_t num_updates = 0;
  double total_weight = 0.0;
  std::optional<double> train_loss;  // weighted reported loss; none without updates
  double gradient_variance = 0.0;
  double merge_seconds = 0.0;      // wall time spent producing this version
  std::string optimizer_state;     // ServerOptimizer::state()
};

struct MergedUpdate {
  std::string agent;
  std::string update_id;
  double weight = 0.0;
  int64_t staleness = 0;
};

struct AgentRecord {
  std::string agent;
  int64_t first_seen_unix_ms = 0;
  int64_t last_seen_unix_ms = 0;
  bool quarantined = false;
  std::string quarantine_reason;
  int64_t updates = 0;
  int64_t last_staleness = 0;
  int64_t telemetry_records = 0;
  std::string device_class;  // "" until its system telemetry names one
};

// One secure aggregation session of the server (table secagg_sessions).
struct SecAggSessionRow {
  std::string session;
  std::string info;               // JSON object; '{}' until put_info
  std::vector<uint8_t> snapshot;  // ServerRound::snapshot(); empty until put_snapshot
  int64_t updated_unix_ms = 0;    // the last put_info or put_snapshot
};

}  // namespace edgefed::server
