// Configuration of the merging engine (one struct, a commented default on
// every field, LevelDB style). main() fills it from the command line; tests
// fill it directly. Engine::open() validates it and refuses bad combinations
// with kInvalidArgument.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "edgefed/clock.hpp"
#include "edgefed/enum_names.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"
#include "server/aggregation/aggregator.hpp"
#include "server/aggregation/server_optimizer.hpp"
#include "server/aggregation/staleness.hpp"

namespace edgefed::server {

class SpoolFile;  // server/store/update_spool.hpp

// Sync rounds: what happens to an update computed from an older version.
enum class SyncStalePolicy { kWeight, kRefuse };
inline constexpr EnumName<SyncStalePolicy> kSyncStalePolicyNames[] = {{SyncStalePolicy::kWeight, "weight"},
                                                                      {SyncStalePolicy::kRefuse, "refuse"}};
constexpr std::span<const EnumName<SyncStalePolicy>> enum_names(SyncStalePolicy) { return kSyncStalePolicyNames; }

// Serving channels (serving_channels.hpp).
struct ChannelOptions {
  double canary_fraction = 0.1;    // share of agents in the canary cohort; 0 = channels off
  int64_t canary_min_agents = 3;   // cohort validations that decide a canary (and the smallest cohort)
  double threshold = 0.02;         // accuracy points (as a fraction) or relative loss rise
  int64_t canary_timeout_ms = 300000;  // a canary not decided by then steps back for a newer one
  // The cohort serves a canary at least this long before it may be
  // promoted (a rejection needs no wait): a real trial, and at most one
  // new stable version per soak for the fleet to download.
  int64_t canary_soak_ms = 30000;
};

struct EngineOptions {
  // Directory of the state; the database is <state_dir>/edgefed.sqlite (mode
  // 0600, WAL). Created (0700) if missing. Required.
  std::string state_dir;
  // async (FedBuff: buffered, staleness-weighted) or sync (FedAvg rounds).
  MergeMode mode = MergeMode::kAsync;
  // Initial model when the state is empty: a preset ("mlp:784-128-10",
  // "cnn-fmnist", ...) or a model spec FILE.json (ml::ModelSpec::load).
  // Ignored when the database already holds a version.
  std::string model_init = "mlp:784-128-10";
  // Seed of the initial weights (ModelSpec::init).
  uint64_t init_seed = 1;

  // ---- sync mode (FedAvg rounds; one round = one version) ----
  // A round closes as soon as this many updates were accepted in it.
  int64_t min_updates = 10;
  // After this many seconds (since the round opened) a round closes with at
  // least min_updates_on_timeout updates. 0 disables the timeout.
  double round_timeout_s = 60.0;
  // Updates needed to close a round once round_timeout_s passed (>= 1).
  int64_t min_updates_on_timeout = 1;
  // Updates computed from an older version: weight merges them with weight
  // num_samples x s(tau); refuse answers kTooStale (410).
  SyncStalePolicy sync_stale_policy = SyncStalePolicy::kWeight;

  // ---- async mode (FedBuff) ----
  // A new version every buffer_k accepted updates...
  int64_t buffer_k = 10;
  // ...or when the oldest buffered update waited this long (0 = never).
  double buffer_timeout_s = 30.0;

  // ---- both modes ----
  // Staleness discount s(tau), tau = server version - base_version:
  //   constant   s = 1
  //   polynomial s = (1 + tau)^-staleness_a
  //   hinge      s = 1 for tau <= staleness_b, else 1 / (staleness_a (tau - b) + 1)
  StalenessKind staleness_fn = StalenessKind::kPolynomial;
  double staleness_a = 0.5;   // polynomial exponent / hinge slope
  double staleness_b = 4.0;   // hinge: staleness tolerated without discount
  // Updates with tau > max_staleness are refused with kTooStale (410).
  int64_t max_staleness = 100;
  // new = global + server_lr * sum(w_i delta_i) / sum(w_i).
  // 0 (the default) picks per mode (effective_server_lr):
  //   sync  1.0   plain FedAvg: the round's average replaces the model step.
  //   async 0.25  a PyTorch simulation of this workload (docs/engine.md) ran FedBuff with buffer_k 10
  //               and ~100 concurrent devices: lr 1.0 and 0.5 diverge (peak
  //               ~0.59 accuracy, then collapse to 0.10), 0.25 trains well,
  //               0.1 is slower and smoother. Rule of thumb: K / concurrency
  //               to 2.5 x that; raise it only with a larger buffer_k.
  //       Adaptive optimizers pick their own default, see effective_server_lr.
  double server_lr = 0.0;

  // ---- aggregation strategy and server optimizer (docs/aggregation.md) ----
  // How a version's updates are merged: fedavg (streaming weighted mean),
  // median, trimmed-mean or krum (multi-Krum). The last three keep all K
  // updates of a version in memory (K x model size floats).
  AggregatorKind aggregator = AggregatorKind::kFedAvg;
  double trim_beta = 0.1;       // trimmed-mean: fraction dropped per side, [0, 0.5)
  int64_t krum_f = 1;           // krum: hostile updates assumed per version; K > 2f + 2
  int64_t krum_m = 0;           // krum: updates averaged after selection (0 = n - f)
  int aggregation_threads = 1;  // threads of the median/trimmed/Krum kernels
  // Each update is scaled to L2 norm <= clip_norm before merging (0 = off).
  double clip_norm = 0.0;
  // DP-FedAvg: Gaussian noise N(0, (z clip_norm)^2) on the sum of clipped,
  // s(tau)-weighted updates, divided by max(n, K). Needs clip_norm > 0 and
  // the fedavg aggregator. 0 = off.
  double dp_noise_multiplier = 0.0;
  uint64_t dp_seed = 0;  // noise seed; 0 = std::random_device (reproducible tests only)
  // Applied to the merged delta: sgd, fedavgm, fedadagrad, fedadam or
  // fedyogi (Reddi et al. 2021); their state is stored with each version.
  ServerOptimizerKind server_optimizer = ServerOptimizerKind::kSgd;
  double server_momentum = 0.9;  // fedavgm
  double server_beta1 = 0.9;     // adaptive: first moment decay
  double server_beta2 = 0.99;    // fedadam / fedyogi: second moment decay
  double server_tau = 1e-3;      // adaptive: step = lr m / (sqrt(v) + tau)

  // ---- secure aggregation (docs/secure-aggregation.md) ----
  // kSecAggPlus: agents send no plain update (POST /v1/updates answers
  // 422); they join a session per sync round (min_updates agents) or per
  // async cohort (buffer_k agents, one base version) and the server merges
  // each session's unmasked weighted mean as one version. Needs the fedavg
  // aggregator. clip_norm and dp_noise_multiplier move to the agents (the
  // task carries them): each clips its delta and adds its share of the
  // Gaussian noise before masking (distributed DP,
  // docs/secure-aggregation.md).
  SecureAggregation secure_aggregation = SecureAggregation::kOff;
  double secagg_clip = 1.0;            // the quantizer's C: bound of a weighted update coordinate
  uint64_t secagg_min_agents = 3;      // a session with fewer advertising agents aborts (>= 3)
  uint64_t secagg_degree = 0;          // the graph's k; 0 = chosen from the cohort size
  double secagg_phase_timeout_s = 60;  // a protocol phase closes at most this long after it opened
  // Once this fraction of a phase's agents answered, the rest get as long
  // again as that took (>= 1 s), not the whole phase timeout (1 = all).
  double secagg_quorum = 0.9;

  // ---- the task handed to agents (GET /v1/task) ----
  int task_epochs = 1;
  int64_t task_steps = 0;          // 0 = whole epochs
  int task_batch_size = 32;
  double task_lr = 0.05;
  double task_momentum = 0.9;
  double task_weight_decay = 0.0;
  double task_proximal_mu = 0.0;   // FedProx mu; 0 = plain FedAvg
  double task_clip_norm = 0.0;     // 0 = off
  Encoding task_encoding = Encoding::kF32;
  double task_deadline_s = 0;      // 0 = no deadline in the task

  // ---- checkpoints ----
  // The newest keep_last_n versions keep their checkpoint blob (>= 1)...
  int64_t keep_last_n = 20;
  // ...and so does every version that is a multiple of keep_every_m (0 = none).
  // Older versions keep their row (history, merged updates), not the blob.
  int64_t keep_every_m = 100;
  // Versions listed in ServerStatus::history (newest last).
  int64_t status_history = 200;

  // ---- durability and throughput ----
  // PRAGMA synchronous=FULL (survives power loss) when true; NORMAL (survives
  // process crashes, not power loss) when false.
  bool fsync_full = true;
  // With fsync_full: the pipelined group commit (commit_syncer.hpp). A batch
  // commits without fsync and a second thread fsyncs the WAL while the writer
  // runs the next batch; the batch's calls are answered (and its state
  // published) only after that fsync. A failed fsync then cannot be rolled
  // back: every write is refused until the server restarts. false: each
  // commit fsyncs inside the transaction, and a failed fsync rolls it back.
  bool fsync_pipeline = true;
  // SQLite store: MiB of the update spool (server/store/update_spool.hpp),
  // the ring file the connections' threads write pending update bodies to
  // so that the writer thread stores only their rows; 0 = bodies in the
  // ledger's payload column. A body that does not fit goes there too.
  int64_t spool_mb = 256;
  // Cap on the database file in MiB (0 = none): past it, writes fail like a
  // full disk (503 + Retry-After; nothing half-written) instead of filling
  // the disk.
  int64_t max_db_mb = 0;
  // Where the state lives (state_store_opener.hpp): "sqlite" (the file in
  // state_dir) or a PostgreSQL URI "postgresql://user@host:port/dbname"
  // (no password in it: store_password_file, PGPASSWORD or ~/.pgpass).
  std::string store = "sqlite";
  std::string store_password_file;
  // How long start-up waits for an unreachable PostgreSQL database.
  double store_connect_s = 30;
  // Replicas sharing a PostgreSQL store (docs/replicas.md): this one's name
  // among them, unique ("" = the host name, a pod's name in K3s), and how
  // often it checks the leadership, heartbeats and looks for a newer
  // version (the bound on how late a follower serves a new version).
  std::string replica_name;
  double replica_poll_s = 0.2;

  // ---- site relay (docs/relays.md) ----
  // A relay (--upstream set; RelayUplink in server/relay/ talks to the
  // central server) accepts its site's updates durably like a server but
  // merges none: it forms partial sums of up to relay_k updates of one
  // base version (num_samples-weighted, so the central server's weights
  // stay exact) and forwards each as one update, after relay_flush_s at
  // the latest. Its versions are the central server's, adopted as they come.
  bool relay = false;
  int64_t relay_k = 10;
  double relay_flush_s = 5.0;
  // A fresh relay's first version: the central model fetched before the
  // engine opens (its number and safetensors bytes); ignored when the store
  // holds versions already.
  int64_t relay_initial_version = -1;
  std::string relay_initial_model;
  // The agent id the relay's partial sums carry upstream: the CN of its
  // client certificate towards the central server.
  std::string relay_agent_id;
  // The SQLite VFS the store's file operations go through (StoreOptions::vfs);
  // empty = SQLite's default. Fault tests pass a VFS that injects failures.
  std::string store_vfs;
  // Opens the update spool's file (StoreOptions::spool_file); null = the real
  // file. Fault tests pass one that fails or loses writes.
  std::function<Result<std::unique_ptr<SpoolFile>>(const std::string& path)> store_spool_file;
  // Most updates/telemetry batches committed in one transaction.
  int64_t group_commit_max = 256;
  // Updates waiting for the writer beyond this are refused with kUnavailable
  // (503) instead of queueing without bound.
  int64_t max_queued_updates = 1024;

  // ---- telemetry and agents ----
  size_t telemetry_max_records = 1000;  // per batch
  // An agent seen within agent_active_s is "active", within agent_offline_s
  // "idle", else "offline" (or "quarantined").
  double agent_active_s = 120.0;
  double agent_offline_s = 900.0;

  // ---- serving channels ----
  ChannelOptions channels;

  // ---- seams ----
  // Time source for timers and timestamps; null = the system clock. Tests pass
  // a FakeClock and advance it instead of sleeping.
  std::shared_ptr<Clock> clock;
  // How often (real time) the writer thread checks time-based closing.
  int timer_tick_ms = 100;
};

// kInvalidArgument naming the first bad field (the flag, for the strategy
// combinations an operator picks). Pure: builds no strategy; the engine
// builds each once, when it opens (VersionKeeper::open).
Status validate(const EngineOptions& options);
// server_lr, or when it is 0 the default of the optimizer and mode:
//   sgd         sync 1.0, async 0.25 (see server_lr)
//   fedavgm     the sgd default x (1 - server_momentum): the same long-run
//               step, since momentum sums a geometric series of deltas
//   fedadagrad, fedadam, fedyogi  0.01 in both modes (Reddi et al.'s best
//               server rates are 10^-2.5 .. 10^-1 with tau 1e-3; an adaptive
//               step moves each parameter by about lr, whatever the delta's size)
double effective_server_lr(const EngineOptions& options);
// Updates a version expects: sync min_updates, async buffer_k.
int64_t updates_per_version(const EngineOptions& options);
AggregatorOptions aggregator_options(const EngineOptions& options);
ServerOptimizerOptions server_optimizer_options(const EngineOptions& options);  // with the effective lr

}  // namespace edgefed::server
