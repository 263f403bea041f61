// The outcome of a simulation run: learning curve, milestones, what the
// fleet forwarded and the audit against the server's records. Written as
// JSON (--json-summary), as a CSV curve and a gnuplot PNG, and as text.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/test_seam/device_pacer.hpp"
#include "curve_recorder.hpp"
#include "serving_recorder.hpp"
#include "edgefed/protocol.hpp"
#include "ledger_audit.hpp"
#include "version_eval.hpp"

namespace edgefed::sim {

struct Milestone {
  double accuracy = 0;                // threshold
  std::optional<double> seconds;      // first time reached
  std::optional<int64_t> version;
};

struct RunSummary {
  MergeMode mode = MergeMode::kAsync;
  int agents = 0;
  std::string partition;
  double seconds = 0;                 // wall time of the run, drain included
  std::vector<CurvePoint> curve;
  double final_accuracy = 0, final_loss = 0;
  double best_accuracy = 0;
  int64_t best_version = 0;
  double moving_average_accuracy = 0; // mean of the last 5 evaluations
  // Regression (--data with a forecaster): the test MAE, in the data's units.
  bool regression = false;
  double final_mae = 0, best_mae = 0;
  int64_t best_mae_version = 0;
  std::vector<Milestone> milestones;  // 0.80, 0.85, 0.87
  // Fleet time (--fleet-time): the dilation (0 = off), the agents' pacing,
  // and whether the machine fell behind in more than kSaturatedShare of
  // the rounds (then the timings measured contention, not the fleet).
  double dilation = 0;
  agent::PaceStats pace;
  static constexpr double kSaturatedShare = 0.05;
  double behind_share() const {
    return pace.rounds > 0 ? static_cast<double>(pace.rounds_behind) / static_cast<double>(pace.rounds) : 0.0;
  }
  bool saturated() const { return dilation > 0 && behind_share() > kSaturatedShare; }
  double fleet_seconds(double wall_s) const { return dilation > 0 ? wall_s / dilation : wall_s; }
  int64_t versions = 0;
  int64_t stop_version = 0;           // --versions N (0 = not asked)
  std::optional<VersionAccuracy> at_version;  // test accuracy of exactly version N
  std::string at_version_error;       // why it is missing
  int64_t updates_merged = 0;
  int64_t updates_accepted = 0;
  int64_t records_forwarded = 0;      // updates + telemetry the server acked
  int64_t outbox_peak_records = 0;    // largest fleet backlog seen
  int64_t outbox_left = 0;            // still queued at the end
  int64_t random_outages = 0, fleet_outages = 0, server_restarts = 0;
  std::optional<AuditResult> audit;
  std::string audit_error;
  // Site relays: how many, the partial sums the central server took from
  // them, and the agent updates those summed.
  int relays = 0;
  int64_t relay_batches_accepted = 0;
  int64_t relay_updates_forwarded = 0;
  int64_t relay_batches_refused = 0;
  int64_t relay_updates_refused = 0;  // agent updates in them
  double relay_cut_s = 0;          // how long relay 0's uplink was cut
  double relay_drain_s = -1;       // from the uplink's return until relay 0 had sent everything (-1: no cut)
  std::vector<std::string> agent_failures;
  // Serving channels (serving_recorder.hpp): the fleet's serving accuracy
  // over time, the canary decisions, and who served a rejected version.
  std::vector<ServingPoint> serving_timeline;
  std::vector<ChannelChange> channel_changes;
  double serving_max_drop = 0;
  int64_t versions_promoted = 0, versions_rejected = 0;
  // Agents that served a version the fleet rejected: named "canary" for it
  // (in the cohort) or not (must be 0).
  int64_t served_rejected_in_cohort = 0, served_rejected_outside_cohort = 0;
  std::map<std::string, CohortClass> cohort_classes;  // the canary cohort per device class
};

// Fills best/final/moving average and milestones from the curve.
void finish_summary(RunSummary& s);
nlohmann::json to_json(const RunSummary& s);
std::string to_text(const RunSummary& s);
// curve.csv: seconds,version,accuracy,loss,updates_merged,mae (mae: regression)
bool write_curve_csv(const std::string& path, const std::vector<CurvePoint>& curve);
// Runs gnuplot (if installed) to draw accuracy and loss against time and
// versions. Returns a reason on failure.
// A regression run plots the test MAE (column 6) where a classifier's has accuracy.
std::string plot_curves(const std::string& csv_path, const std::string& png_path, const std::string& title,
                        bool regression = false);

}  // namespace edgefed::sim
