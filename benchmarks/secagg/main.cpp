// edgefed-bench-secagg: what secure aggregation (SecAgg+) costs per agent
// and per session against plain FedAvg, for one session of N agents over a
// D-parameter update, in one process and one thread (the protocol's state
// machines, every message through its JSON text as on the wire).
//
//   edgefed-bench-secagg [--agents 100] [--params 101770] [--drop-after-shares 0]
//                        [--drop-after-masked 0] [--clip 1] [--degree 0] [--repeat 3] [--json]
//
// Per agent: bytes sent and received (the JSON texts of its messages) and
// thread CPU time of its ClientRound calls, against the plain f32 update it
// would send instead (safetensors) and the CPU time to encode it. Per
// session: the server's CPU time in ServerRound (setup, running sum,
// unmasking) against decoding and summing N plain updates. Medians over
// --repeat sessions; the result is checked against the plain weighted mean.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgefed/model_layout.hpp"
#include "edgefed/options.hpp"
#include "edgefed/secagg/client_round.hpp"
#include "edgefed/secagg/communication_graph.hpp"
#include "edgefed/secagg/random_source.hpp"
#include "edgefed/secagg/server_round.hpp"
#include "edgefed/update_codec.hpp"

extern char** environ;

namespace {

using namespace edgefed;
namespace sa = edgefed::secagg;
using nlohmann::json;

struct Flags {
  int agents = 100;
  int64_t params = 101770;  // mlp:784-128-10
  double drop_after_shares = 0;
  double drop_after_masked = 0;
  double clip = 1.0;
  uint64_t degree = 0;  // 0 = choose_parameters(agents)
  int repeat = 3;
  bool json = false;
};

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

template <typename T>
T ok(Result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.status().to_string());
  return std::move(r).value();
}
void ok(const Status& s, const char* what) {
  if (!s.is_ok()) throw std::runtime_error(std::string(what) + ": " + s.to_string());
}

// A message's wire size: its JSON text.
template <typename M>
size_t wire(const M& m) {
  return m.to_json().dump().size();
}

struct SessionFigures {
  double agent_cpu_ms = 0;      // median over agents that finished
  double agent_sent_bytes = 0;  // median
  double agent_recv_bytes = 0;  // median
  double server_cpu_ms = 0;
  double plain_agent_cpu_ms = 0;  // encode one f32 update (median)
  double plain_bytes = 0;
  double plain_server_cpu_ms = 0;  // decode + weighted sum of the survivors' plain updates
  double max_error = 0;            // |secure mean - plain mean|, worst coordinate
  size_t survivors = 0;
  uint64_t degree = 0, threshold = 0;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

SessionFigures run_session(const Flags& f, const ModelLayout& layout, unsigned seed) {
  const auto random = sa::system_random();
  const size_t n = static_cast<size_t>(f.agents);
  const uint64_t dim = static_cast<uint64_t>(f.params);
  const std::string session = "bench-" + std::to_string(seed);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-0.05f, 0.05f);
  std::uniform_int_distribution<uint64_t> samples(50, 600);

  struct Agent {
    sa::AgentId id;
    uint64_t samples;
    std::vector<float> delta;
    std::optional<sa::ClientRound> round;
    double cpu = 0;
    size_t sent = 0, recv = 0;
  };
  std::vector<Agent> agents(n);
  for (size_t i = 0; i < n; ++i) {
    agents[i].id = i + 1;
    agents[i].samples = samples(rng);
    agents[i].delta.resize(dim);
    for (float& v : agents[i].delta) v = value(rng);
  }
  std::set<sa::AgentId> drop_shares, drop_masked;
  for (size_t i = 0; i < n; ++i) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    if (u < f.drop_after_shares) drop_shares.insert(agents[i].id);
    else if (u < f.drop_after_shares + f.drop_after_masked) drop_masked.insert(agents[i].id);
  }

  double server_cpu = 0;
  auto on_server = [&](auto fn) {
    const double t0 = thread_cpu_s();
    fn();
    server_cpu += thread_cpu_s() - t0;
  };
  auto on_agent = [&](Agent& a, auto fn) {
    const double t0 = thread_cpu_s();
    fn();
    a.cpu += thread_cpu_s() - t0;
  };

  std::optional<sa::ServerRound> server;
  on_server([&] { server.emplace(ok(sa::ServerRound::create({session, dim, f.clip, 3, f.degree}), "create")); });
  for (auto& a : agents) {
    on_agent(a, [&] { a.round.emplace(ok(sa::ClientRound::create(session, a.id, a.samples, random), "client")); });
    const auto& adv = a.round->advertise();
    a.sent += wire(adv);
    on_server([&] { ok(server->on_advertise(ok(sa::AdvertiseKeys::from_json(adv.to_json()), "parse")), "adv"); });
  }
  on_server([&] { ok(server->close_advertise(ok(sa::random_key(random), "seed")), "close advertise"); });
  for (auto& a : agents) {
    sa::RoundSetup setup;
    on_server([&] { setup = ok(server->setup_for(a.id), "setup"); });
    a.recv += wire(setup);
    sa::ShareUpload up;
    on_agent(a, [&] { up = ok(a.round->on_setup(ok(sa::RoundSetup::from_json(setup.to_json()), "parse"), random), "on_setup"); });
    if (drop_shares.count(a.id)) continue;  // computed, never sent: it went away
    a.sent += wire(up);
    on_server([&] { ok(server->on_share_upload(ok(sa::ShareUpload::from_json(up.to_json()), "parse")), "upload"); });
  }
  on_server([&] { ok(server->close_shares(), "close shares"); });
  for (auto& a : agents) {
    if (drop_shares.count(a.id)) continue;
    sa::ShareDelivery d;
    on_server([&] { d = ok(server->delivery_for(a.id), "delivery"); });
    a.recv += wire(d);
    sa::MaskedInput m;
    on_agent(a, [&] {
      const auto q = ok(a.round->quantizer(), "quantizer");
      m = ok(a.round->on_delivery(ok(sa::ShareDelivery::from_json(d.to_json()), "parse"), a.delta, q), "on_delivery");
    });
    if (drop_masked.count(a.id)) continue;
    a.sent += wire(m);
    on_server([&] { ok(server->on_masked_input(ok(sa::MaskedInput::from_json(m.to_json()), "parse")), "masked"); });
  }
  on_server([&] { ok(server->close_masked(), "close masked"); });
  for (auto& a : agents) {
    if (drop_shares.count(a.id) || drop_masked.count(a.id)) continue;
    sa::UnmaskRequest req;
    on_server([&] { req = ok(server->unmask_request_for(a.id), "request"); });
    a.recv += wire(req);
    sa::UnmaskResponse resp;
    on_agent(a, [&] { resp = ok(a.round->on_unmask(ok(sa::UnmaskRequest::from_json(req.to_json()), "parse")), "on_unmask"); });
    a.sent += wire(resp);
    on_server([&] { ok(server->on_unmask_response(ok(sa::UnmaskResponse::from_json(resp.to_json()), "parse")), "resp"); });
  }
  sa::AggregateResult result;
  on_server([&] { result = ok(server->finish(), "finish"); });

  SessionFigures out;
  out.server_cpu_ms = server_cpu * 1e3;
  out.survivors = result.survivors.size();
  out.degree = server->degree();
  out.threshold = server->threshold();
  std::vector<double> cpu, sent, recv, plain_cpu;
  // Plain FedAvg on the same survivors: each encodes its f32 update; the
  // server decodes each and forms the weighted mean.
  std::vector<double> plain_sum(dim, 0.0);
  double plain_weight = 0, plain_server = 0;
  for (auto& a : agents) {
    if (std::find(result.survivors.begin(), result.survivors.end(), a.id) == result.survivors.end()) continue;
    cpu.push_back(a.cpu * 1e3);
    sent.push_back(static_cast<double>(a.sent));
    recv.push_back(static_cast<double>(a.recv));
    UpdateMetadata meta;
    meta.agent_id = "agent-" + std::to_string(a.id);
    meta.update_id = "u1";
    meta.num_samples = static_cast<int64_t>(a.samples);
    const double t0 = thread_cpu_s();
    const std::string body = ok(encode_update(layout, a.delta, meta), "encode");
    plain_cpu.push_back((thread_cpu_s() - t0) * 1e3);
    out.plain_bytes = static_cast<double>(body.size());
    const double t1 = thread_cpu_s();
    const auto dec = ok(decode_update({reinterpret_cast<const uint8_t*>(body.data()), body.size()}, layout), "decode");
    const double w = static_cast<double>(a.samples);
    for (uint64_t k = 0; k < dim; ++k) plain_sum[k] += w * dec.delta[k];
    plain_weight += w;
    plain_server += thread_cpu_s() - t1;
  }
  for (uint64_t k = 0; k < dim; ++k) {
    out.max_error = std::max(out.max_error, std::abs(plain_sum[k] / plain_weight - double(result.mean[k])));
  }
  out.agent_cpu_ms = median(cpu);
  out.agent_sent_bytes = median(sent);
  out.agent_recv_bytes = median(recv);
  out.plain_agent_cpu_ms = median(plain_cpu);
  out.plain_server_cpu_ms = plain_server * 1e3;
  return out;
}

int run(const Flags& f) {
  if (f.agents < 3) throw ConfigError("--agents must be >= 3");
  if (f.params < 1) throw ConfigError("--params must be >= 1");
  if (f.drop_after_shares < 0 || f.drop_after_masked < 0 || f.drop_after_shares + f.drop_after_masked >= 0.5)
    throw ConfigError("--drop-after-shares + --drop-after-masked must be in [0, 0.5)");
  // A dense layout of the requested size (one tensor) for the plain peer.
  const ModelLayout layout = ok(ModelLayout::create({TensorSpec{"w", {f.params}}}), "layout");
  std::vector<SessionFigures> runs;
  for (int r = 0; r < f.repeat; ++r) runs.push_back(run_session(f, layout, static_cast<unsigned>(r + 1)));
  auto med = [&](double SessionFigures::*field) {
    std::vector<double> v;
    for (const auto& s : runs) v.push_back(s.*field);
    return median(v);
  };
  const SessionFigures& s0 = runs.front();
  double worst_error = 0;
  for (const auto& s : runs) worst_error = std::max(worst_error, s.max_error);
  const double up = med(&SessionFigures::agent_sent_bytes), down = med(&SessionFigures::agent_recv_bytes);
  const double plain = med(&SessionFigures::plain_bytes);
  std::printf("secure aggregation (SecAgg+), %d agents, %lld parameters, k = %llu, t = %llu, "
              "drop %.0f%% after shares + %.0f%% after masked, median of %d sessions\n",
              f.agents, static_cast<long long>(f.params), static_cast<unsigned long long>(s0.degree),
              static_cast<unsigned long long>(s0.threshold), f.drop_after_shares * 100, f.drop_after_masked * 100,
              f.repeat);
  std::printf("  per agent: sent %.0f B (plain update %.0f B: %.2fx), received %.0f B (plain: 0 besides the model)\n",
              up, plain, up / plain, down);
  std::printf("  per agent CPU: %.2f ms (plain encode %.2f ms)\n", med(&SessionFigures::agent_cpu_ms),
              med(&SessionFigures::plain_agent_cpu_ms));
  std::printf("  server CPU per session: %.1f ms (plain decode + weighted sum of the same %zu updates: %.1f ms)\n",
              med(&SessionFigures::server_cpu_ms), s0.survivors, med(&SessionFigures::plain_server_cpu_ms));
  std::printf("  worst coordinate |secure mean - plain mean|: %.3g\n", worst_error);
  if (f.json) {
    std::cout << json{{"agents", f.agents},
                      {"params", f.params},
                      {"degree", s0.degree},
                      {"drop_after_shares", f.drop_after_shares},
                      {"drop_after_masked", f.drop_after_masked},
                      {"threshold", s0.threshold},
                      {"survivors", s0.survivors},
                      {"agent_sent_bytes", up},
                      {"agent_received_bytes", down},
                      {"plain_update_bytes", plain},
                      {"agent_cpu_ms", med(&SessionFigures::agent_cpu_ms)},
                      {"plain_agent_cpu_ms", med(&SessionFigures::plain_agent_cpu_ms)},
                      {"server_cpu_ms", med(&SessionFigures::server_cpu_ms)},
                      {"plain_server_cpu_ms", med(&SessionFigures::plain_server_cpu_ms)},
                      {"max_error", worst_error}}
                     .dump()
              << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  Options o("edgefed-bench-secagg", "Per-agent and per-session cost of SecAgg+ against plain FedAvg.");
  o.bind("agents", &f.agents, "agents in the session");
  o.bind("params", &f.params, "parameters of the update (101770 = mlp:784-128-10)");
  o.bind("drop-after-shares", &f.drop_after_shares, "share of agents that vanish after the key exchange");
  o.bind("drop-after-masked", &f.drop_after_masked, "share of agents that vanish after the masked upload");
  o.bind("clip", &f.clip, "the quantizer's C");
  o.bind("degree", &f.degree, "neighbours per agent k (0 = from the cohort size, as the server)");
  o.bind("repeat", &f.repeat, "sessions to run (medians are printed)").at_least(1);
  o.bind("json", &f.json, "print one JSON object on the last line");
  try {
    o.parse(argc, argv, environ);
    if (o.help_requested()) {
      std::cout << o.help_text();
      return 0;
    }
    return run(f);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "edgefed-bench-secagg: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgefed-bench-secagg: %s\n", e.what());
    return 1;
  }
}
