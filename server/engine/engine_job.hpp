// A unit of work for the engine's writer thread. The caller owns the job
// (on its stack), queues a pointer and waits on `done`; the writer fills in
// the results before setting it.
#pragma once

#include <functional>
#include <future>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "server/engine/engine_core.hpp"
#include "server/engine/version_keeper.hpp"

namespace edgefed::server {

struct EngineCore::Job {
  enum class Kind { kUpdate, kTelemetry, kAdmin };
  Kind kind = Kind::kUpdate;
  const IncomingUpdate* update = nullptr;      // kUpdate
  std::string agent;                           // kTelemetry
  const TelemetryBatch* telemetry = nullptr;   // kTelemetry
  std::function<Status(VersionKeeper&)> admin; // kAdmin, runs inside the transaction
  // Results.
  Status status;
  UpdateAck ack;
  TelemetryAck telemetry_ack;
  std::vector<TelemetryRecord> telemetry_stored;  // kTelemetry: the records stored now
  std::promise<void> done;
};

}  // namespace edgefed::server
