// The agent's own telemetry records, written into the outbox journal (the
// forwarder sends them later, in batches):
//   train   one per stored update: the round's figures, the device, the
//           outbox depth, the link state and the update id
//   system  periodic: the device, the outbox, the link, rounds and model
//   link    when the link state changed since the last link record
//   model   a model event: "refused" when a downloaded model or task has an
//           architecture this agent cannot run (it keeps its last good model)
//   validation      a new global version's metric on the holdout, and
//                   whether it became the serving model
//   model_rejected  a version refused for serving: both figures
//   drift           the application's inputs and the model's answers
//                   against the holdout's (with each system record)
// Fields per kind: agent/loop/README.md, "Telemetry records". Values that are
// not finite are left out. (`dropped` records are written by the outbox.)
//
// Thread safety: not thread-safe (the agent's thread). Ownership: the outbox,
// link and clock are borrowed and must outlive the recorder.
// Errors: the outbox's Status when it could not store the record (kIo:
// unusable; kUnavailable: transient, e.g. disk full); nothing is stored then.
#pragma once

#include <cstdint>
#include <string>

#include "agent/link/link.hpp"
#include "agent/loop/round_trainer.hpp"
#include "agent/outbox/outbox.hpp"
#include "agent/serve/drift_monitor.hpp"
#include "agent/serve/serving_rule.hpp"
#include "edgefed/clock.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

class TelemetryRecorder {
 public:
  // device_class: a label of every system record ("" = none).
  TelemetryRecorder(Outbox& outbox, const Link& link, const Clock& clock, std::string device_class = "");

  // The `train` record of round `r`, stored as update `update_id` trained on
  // model version `base_version`.
  Status record_train(const RoundResult& r, const std::string& update_id, int64_t base_version);
  // A `system` record; `rounds` trained since start, `model_version` held.
  Status record_system(int64_t rounds, int64_t model_version, int64_t serving_version);
  // A `link` record if the link state differs from the last one recorded
  // (the first call records any state but kUnknown); else nothing.
  Status record_link_change();
  // A `model` record: `event` ("refused"), the version it concerns, the
  // version still held (-1: none) and the reason (cut to 256 bytes).
  Status record_model_event(const std::string& event, int64_t version, int64_t held_version,
                            const std::string& reason);
  // A `validation` record: version, value, loss, samples, accepted (0/1:
  // served now), serving_version (after the decision), serving_value (the
  // model served before it, on the same holdout); label metric.
  Status record_validation(const Validation& v, bool accepted, int64_t serving_version, double serving_value);
  // A `drift` record: score, input_shift, output_shift, output_mean, window,
  // serving_version (agent/serve/drift_monitor.hpp).
  Status record_drift(const DriftReport& d);
  // A `model_rejected` record: the candidate's and the served figures.
  Status record_model_rejected(const Validation& candidate, const Validation& serving, const Verdict& verdict,
                               double threshold);

 private:
  Outbox& outbox_;
  const Link& link_;
  const Clock& clock_;
  const std::string device_class_;
  // The state the last link record reported. Updated before the record is
  // stored, so a failed store is not retried for the same change.
  LinkState reported_link_ = LinkState::kUnknown;
};

}  // namespace edgefed::agent
