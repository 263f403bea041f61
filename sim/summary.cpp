#include "summary.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace edgefed::sim {

void finish_summary(RunSummary& s) {
  s.milestones = {{0.80, {}, {}}, {0.85, {}, {}}, {0.87, {}, {}}};
  double sum = 0;
  const size_t n = s.curve.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& p = s.curve[i];
    if (p.accuracy > s.best_accuracy) {
      s.best_accuracy = p.accuracy;
      s.best_version = p.version;
    }
    for (auto& m : s.milestones)
      if (!m.seconds && p.accuracy >= m.accuracy) {
        m.seconds = p.seconds;
        m.version = p.version;
      }
    if (i + 5 >= n) sum += p.accuracy;
    if (p.mae > 0 && (!s.regression || p.mae < s.best_mae)) {
      s.regression = true;
      s.best_mae = p.mae;
      s.best_mae_version = p.version;
    }
  }
  if (n) {
    s.final_accuracy = s.curve.back().accuracy;
    s.final_loss = s.curve.back().loss;
    s.final_mae = s.curve.back().mae;
    s.moving_average_accuracy = sum / static_cast<double>(std::min<size_t>(n, 5));
    s.versions = std::max(s.versions, s.curve.back().version);
  }
}

nlohmann::json to_json(const RunSummary& s) {
  using nlohmann::json;
  json j;
  j["mode"] = s.mode;
  j["agents"] = s.agents;
  j["partition"] = s.partition;
  j["seconds"] = s.seconds;
  j["final_accuracy"] = s.final_accuracy;
  j["final_loss"] = s.final_loss;
  j["best_accuracy"] = s.best_accuracy;
  j["best_version"] = s.best_version;
  j["moving_average_accuracy"] = s.moving_average_accuracy;
  if (s.regression) {
    j["final_mae"] = s.final_mae;
    j["best_mae"] = s.best_mae;
    j["best_mae_version"] = s.best_mae_version;
  }
  j["versions"] = s.versions;
  if (s.stop_version > 0) {
    j["stop_version"] = s.stop_version;
    j["accuracy_at_version"] = s.at_version ? json(s.at_version->accuracy) : json();
    j["loss_at_version"] = s.at_version ? json(s.at_version->loss) : json();
    if (!s.at_version) j["at_version_error"] = s.at_version_error;
  }
  j["updates_merged"] = s.updates_merged;
  j["updates_accepted"] = s.updates_accepted;
  j["records_forwarded"] = s.records_forwarded;
  j["outbox_peak_records"] = s.outbox_peak_records;
  j["outbox_left"] = s.outbox_left;
  j["random_outages"] = s.random_outages;
  j["fleet_outages"] = s.fleet_outages;
  j["server_restarts"] = s.server_restarts;
  if (s.relays > 0) {
    j["relays"] = {{"count", s.relays},
                   {"batches_accepted", s.relay_batches_accepted},
                   {"batches_refused", s.relay_batches_refused},
                   {"updates_refused", s.relay_updates_refused},
                   {"uplink_cut_seconds", s.relay_cut_s},
                   {"drain_seconds_after_cut", s.relay_drain_s},
                   {"updates_forwarded", s.relay_updates_forwarded},
                   {"updates_per_central_request",
                    s.relay_batches_accepted > 0
                        ? static_cast<double>(s.relay_updates_forwarded) / static_cast<double>(s.relay_batches_accepted)
                        : 0.0}};
  }
  if (s.audit) {
    j["records_lost"] = s.audit->lost;
    j["records_double_counted"] = s.audit->double_counted;
    j["audit"] = {{"server_updates", s.audit->server_updates},
                  {"server_telemetry", s.audit->server_telemetry},
                  {"acked_updates", s.audit->acked_updates},
                  {"acked_telemetry", s.audit->acked_telemetry},
                  {"unconfirmed", s.audit->unconfirmed},
                  {"merged", s.audit->merged},
                  {"samples_merged", s.audit->samples_merged},
                  {"secagg_rounds_done", s.audit->secagg_rounds_done},
                  {"secagg_sessions_merged", s.audit->secagg_sessions_merged}};
  } else {
    j["records_lost"] = nullptr;
    j["records_double_counted"] = nullptr;
    j["audit_error"] = s.audit_error;
  }
  for (const auto& m : s.milestones) {
    char key[32];
    std::snprintf(key, sizeof key, "%.2f", m.accuracy);
    j["milestones"][key] = {{"seconds", m.seconds ? json(*m.seconds) : json()},
                            {"version", m.version ? json(*m.version) : json()}};
    if (s.dilation > 0) j["milestones"][key]["fleet_seconds"] = m.seconds ? json(s.fleet_seconds(*m.seconds)) : json();
  }
  j["curve"] = json::array();
  for (const auto& p : s.curve) {
    j["curve"].push_back({{"seconds", p.seconds}, {"version", p.version}, {"accuracy", p.accuracy},
                          {"loss", p.loss}, {"mae", p.mae}, {"updates_merged", p.updates_merged}});
    if (s.dilation > 0) j["curve"].back()["fleet_seconds"] = s.fleet_seconds(p.seconds);
  }
  if (s.dilation > 0) {
    j["fleet_time"] = {{"dilation", s.dilation},
                       {"fleet_seconds", s.fleet_seconds(s.seconds)},
                       {"rounds", s.pace.rounds},
                       {"rounds_behind", s.pace.rounds_behind},
                       {"behind_share", s.behind_share()},
                       {"overrun_wall_seconds", s.pace.overrun_wall_s},
                       {"device_seconds", s.pace.device_s},
                       {"network_seconds", s.pace.network_s},
                       {"cpu_seconds", s.pace.cpu_s},
                       {"saturated", s.saturated()}};
  }
  j["agent_failures"] = s.agent_failures;
  if (!s.serving_timeline.empty() || !s.channel_changes.empty()) {
    json serving;
    serving["max_drop"] = s.serving_max_drop;
    serving["promoted"] = s.versions_promoted;
    serving["rejected"] = s.versions_rejected;
    serving["served_rejected_in_cohort"] = s.served_rejected_in_cohort;
    serving["served_rejected_outside_cohort"] = s.served_rejected_outside_cohort;
    serving["cohort_classes"] = json::object();
    for (const auto& [name, c] : s.cohort_classes)
      serving["cohort_classes"][name] = {{"agents", c.agents}, {"cohort", c.cohort}};
    serving["changes"] = json::array();
    for (const auto& c : s.channel_changes)
      serving["changes"].push_back({{"seconds", c.seconds},
                                    {"version", c.version},
                                    {"channel", c.channel},
                                    {"reason", c.reason},
                                    {"accuracy", c.accuracy >= 0 ? json(c.accuracy) : json()}});
    serving["timeline"] = json::array();
    for (const auto& p : s.serving_timeline) {
      json by = json::object();
      for (const auto& [v, n] : p.by_version) by[std::to_string(v)] = n;
      serving["timeline"].push_back({{"seconds", p.seconds},
                                     {"stable", p.stable},
                                     {"canary", p.canary},
                                     {"agents_serving", p.agents_serving},
                                     {"serving_accuracy", p.serving_accuracy},
                                     {"by_version", by}});
    }
    j["serving"] = std::move(serving);
  }
  return j;
}

std::string to_text(const RunSummary& s) {
  std::ostringstream o;
  char buf[512];
  std::snprintf(buf, sizeof buf, "edgefed-sim summary: %d agents, %s mode, %s, %.0f s\n", s.agents,
                std::string(enum_name(s.mode)).c_str(), s.partition.c_str(), s.seconds);
  o << buf;
  if (s.regression) {
    std::snprintf(buf, sizeof buf, "  test MAE: final %.4f, best %.4f (version %lld); loss %.4f\n", s.final_mae,
                  s.best_mae, static_cast<long long>(s.best_mae_version), s.final_loss);
  } else {
    std::snprintf(buf, sizeof buf,
                  "  accuracy: final %.4f, best %.4f (version %lld), mean of last 5 %.4f; loss %.4f\n",
                  s.final_accuracy, s.best_accuracy, static_cast<long long>(s.best_version),
                  s.moving_average_accuracy, s.final_loss);
  }
  o << buf;
  if (s.stop_version > 0) {
    if (s.at_version)
      std::snprintf(buf, sizeof buf, "  at version %lld: accuracy %.4f, loss %.4f\n",
                    static_cast<long long>(s.stop_version), s.at_version->accuracy, s.at_version->loss);
    else
      std::snprintf(buf, sizeof buf, "  at version %lld: not measured (%s)\n", static_cast<long long>(s.stop_version),
                    s.at_version_error.c_str());
    o << buf;
  }
  if (s.dilation > 0) {
    std::snprintf(buf, sizeof buf,
                  "  fleet time: dilation %.2f, %.1f fleet s (%.0f wall s); %lld of %lld rounds behind their device "
                  "time (%.1f %%)%s\n",
                  s.dilation, s.fleet_seconds(s.seconds), s.seconds, static_cast<long long>(s.pace.rounds_behind),
                  static_cast<long long>(s.pace.rounds), 100.0 * s.behind_share(),
                  s.saturated() ? ": SATURATED, the timings measured this machine's contention, not the fleet "
                                  "(raise --dilation)"
                                : "");
    o << buf;
  }
  for (const auto& m : s.milestones) {
    if (s.regression) break;  // accuracy milestones mean nothing for a forecaster
    if (m.seconds && s.dilation > 0)
      std::snprintf(buf, sizeof buf, "  reached %.2f after %.1f fleet s (%.1f wall s) at version %lld\n", m.accuracy,
                    s.fleet_seconds(*m.seconds), *m.seconds, static_cast<long long>(*m.version));
    else if (m.seconds)
      std::snprintf(buf, sizeof buf, "  reached %.2f after %.1f s at version %lld\n", m.accuracy, *m.seconds,
                    static_cast<long long>(*m.version));
    else
      std::snprintf(buf, sizeof buf, "  did not reach %.2f\n", m.accuracy);
    o << buf;
  }
  std::snprintf(buf, sizeof buf,
                "  versions %lld, updates accepted %lld, merged %lld; records forwarded %lld "
                "(outbox peak %lld, left %lld)\n",
                static_cast<long long>(s.versions), static_cast<long long>(s.updates_accepted),
                static_cast<long long>(s.updates_merged), static_cast<long long>(s.records_forwarded),
                static_cast<long long>(s.outbox_peak_records), static_cast<long long>(s.outbox_left));
  o << buf;
  std::snprintf(buf, sizeof buf, "  faults: %lld agent outages, %lld fleet outages, %lld server restarts\n",
                static_cast<long long>(s.random_outages), static_cast<long long>(s.fleet_outages),
                static_cast<long long>(s.server_restarts));
  o << buf;
  if (!s.serving_timeline.empty() || !s.channel_changes.empty()) {
    std::string cohort;
    for (const auto& [name, c] : s.cohort_classes)
      cohort += (cohort.empty() ? "" : ", ") + name + " " + std::to_string(c.cohort) + "/" + std::to_string(c.agents);
    std::snprintf(buf, sizeof buf,
                  "  serving: %lld versions promoted, %lld rejected; serving accuracy max drop %.4f; agents that "
                  "served a rejected version: %lld in the canary cohort, %lld outside\n",
                  static_cast<long long>(s.versions_promoted), static_cast<long long>(s.versions_rejected),
                  s.serving_max_drop, static_cast<long long>(s.served_rejected_in_cohort),
                  static_cast<long long>(s.served_rejected_outside_cohort));
    o << buf;
    if (!cohort.empty()) o << "  canary cohort per device class: " << cohort << "\n";
  }
  if (s.relays > 0) {
    std::snprintf(buf, sizeof buf,
                  "  relays: %d; the central server took %lld partial sums summing %lld agent updates (%.1f per "
                  "request), refused %lld (%lld agent updates)\n",
                  s.relays, static_cast<long long>(s.relay_batches_accepted),
                  static_cast<long long>(s.relay_updates_forwarded),
                  s.relay_batches_accepted > 0 ? static_cast<double>(s.relay_updates_forwarded) /
                                                     static_cast<double>(s.relay_batches_accepted)
                                               : 0.0,
                  static_cast<long long>(s.relay_batches_refused), static_cast<long long>(s.relay_updates_refused));
    o << buf;
    if (s.relay_cut_s > 0) {
      std::snprintf(buf, sizeof buf, "  relay 0's uplink cut for %.0f s; its backlog drained %.1f s after it returned\n",
                    s.relay_cut_s, s.relay_drain_s);
      o << buf;
    }
  }
  if (s.audit)
    std::snprintf(buf, sizeof buf,
                  "  audit vs agents' journals: %lld updates and %lld telemetry records acked; lost %lld, "
                  "double-counted %lld (stored but unconfirmed to the agent: %lld)\n",
                  static_cast<long long>(s.audit->acked_updates), static_cast<long long>(s.audit->acked_telemetry),
                  static_cast<long long>(s.audit->lost), static_cast<long long>(s.audit->double_counted),
                  static_cast<long long>(s.audit->unconfirmed));
  else
    std::snprintf(buf, sizeof buf, "  audit not done: %s\n", s.audit_error.c_str());
  o << buf;
  if (s.audit && (s.audit->secagg_rounds_done > 0 || s.audit->secagg_sessions_merged > 0)) {
    std::snprintf(buf, sizeof buf,
                  "  secure aggregation: %lld agent rounds ended done, in %lld merged session sums\n",
                  static_cast<long long>(s.audit->secagg_rounds_done),
                  static_cast<long long>(s.audit->secagg_sessions_merged));
    o << buf;
  }
  return o.str();
}

bool write_curve_csv(const std::string& path, const std::vector<CurvePoint>& curve) {
  std::ofstream out(path);
  if (!out) return false;
  out << "seconds,version,accuracy,loss,updates_merged,mae\n";
  for (const auto& p : curve)
    out << p.seconds << ',' << p.version << ',' << p.accuracy << ',' << p.loss << ',' << p.updates_merged << ','
        << p.mae << '\n';
  return static_cast<bool>(out);
}

std::string plot_curves(const std::string& csv_path, const std::string& png_path, const std::string& title,
                        bool regression) {
  const std::string metric = regression ? "6" : "3";
  const std::string name = regression ? "test MAE" : "test accuracy";
  const std::string range = regression ? "set autoscale y" : "set yrange [0:1]";
  const std::string script_path = png_path + ".gp";
  {
    std::ofstream gp(script_path);
    gp << "set terminal pngcairo size 1200,800 noenhanced\n"
       << "set output '" << png_path << "'\n"
       << "set datafile separator ','\n"
       << "set key autotitle columnhead\n"
       << "set multiplot layout 2,2 title '" << title << "'\n"
       << "set grid\n"
       << "set xlabel 'seconds'; set ylabel '" << name << "'; " << range << "\n"
       << "plot '" << csv_path << "' using 1:" << metric << " with lines lw 2 title '" << name << "'\n"
       << "set xlabel 'version'\n"
       << "plot '" << csv_path << "' using 2:" << metric << " with lines lw 2 title '" << name << "'\n"
       << "set autoscale y; set xlabel 'seconds'; set ylabel 'test loss'\n"
       << "plot '" << csv_path << "' using 1:4 with lines lw 2 lc 2 title 'loss'\n"
       << "set xlabel 'version'\n"
       << "plot '" << csv_path << "' using 2:4 with lines lw 2 lc 2 title 'loss'\n"
       << "unset multiplot\n";
  }
  const std::string cmd = "gnuplot '" + script_path + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "cannot run gnuplot";
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = ::pclose(p);
  if (rc != 0) return "gnuplot failed: " + out;
  return "";
}

}  // namespace edgefed::sim
