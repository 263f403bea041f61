// RelayUplink: what makes edgefed-server a site relay (--upstream URL;
// docs/relays.md). Two threads, each with its own HTTPS connection to the
// central server and the relay's client certificate:
//   - the model follower long-polls GET /v1/model?after=V and hands each
//     newer central version to Engine::adopt_upstream, so the relay's
//     agents train on (and the relay serves, from its store) the central
//     model under the central version numbers; it also fetches the central
//     task (GET /v1/task, at start and every 30 s) for
//     Engine::set_upstream_task, so the relay's agents train as the
//     central server tells its own;
//   - the forwarder asks the engine to form partial sums when due
//     (Engine::form_relay_batches), then POSTs every unanswered batch to
//     /v1/updates, oldest first. 202 (new or duplicate) marks the batch
//     sent; a refusal (4xx other than 408/429) marks it refused, logged;
//     anything else (no connection, 5xx, 408, 429) leaves it for the next
//     try, with backoff from 0.5 s to 30 s: a cut uplink buffers batches in
//     the relay's store like an agent's outbox and drains when it returns.
// fetch_central_model() is the start-up step of a fresh relay (the engine
// needs the central model before it serves anything).
// Thread safety: start()/stop() from one thread; the threads only call the
// engine's thread-safe methods. Metrics on the server's registry.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "edgefed/enum_names.hpp"
#include "edgefed/https_client.hpp"
#include "edgefed/status.hpp"
#include "server/engine/engine.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace edgefed::server {

// When a relay takes a newer central version for its agents.
//   paced: once `adopt_after_updates` agent updates were accepted since the
//          last adoption (or `adopt_max_hold_s` passed): its agents then
//          train on few base versions, so chunks of K fill within a fraction
//          of a second instead of waiting for the flush (docs/relays.md,
//          "Pacing").
//   every: every central version as soon as it is there.
enum class RelayAdoption { kPaced, kEvery };
inline constexpr EnumName<RelayAdoption> kRelayAdoptionNames[] = {{RelayAdoption::kPaced, "paced"},
                                                                  {RelayAdoption::kEvery, "every"}};
constexpr std::span<const EnumName<RelayAdoption>> enum_names(RelayAdoption) { return kRelayAdoptionNames; }

struct RelayUplinkOptions {
  std::string upstream;   // https://HOST:PORT of the central server
  std::string ca_file;    // verifies the central server's certificate
  std::string cert_file;  // the relay's client certificate (its agent id is the CN)
  std::string key_file;
  double long_poll_s = 25;
  RelayAdoption adoption = RelayAdoption::kPaced;
  int64_t adopt_after_updates = 10;  // the relay's K (server_options sets it from --relay-k)
  double adopt_max_hold_s = 5;       // --relay-flush: a quiet site still follows
};

// host/port of an https://HOST[:PORT] URL; kInvalidArgument otherwise.
Result<HttpsClientOptions> upstream_client_options(const RelayUplinkOptions& options);

// The central server's newest model: its version and safetensors bytes.
// Retries an unreachable server for up to `give_up_s`.
struct CentralModel {
  int64_t version = -1;
  std::string bytes;
};
Result<CentralModel> fetch_central_model(const RelayUplinkOptions& options, double give_up_s);

class RelayUplink {
 public:
  RelayUplink(RelayUplinkOptions options, Engine& engine, std::shared_ptr<prometheus::Registry> registry);
  ~RelayUplink();  // stop()
  RelayUplink(const RelayUplink&) = delete;
  RelayUplink& operator=(const RelayUplink&) = delete;

  Status start();
  // Ends both threads (a long poll in flight is cut by its timeout's end
  // at the latest: bounded by long_poll_s + 5 s). Batches not sent stay in
  // the store for the next start. Idempotent.
  void stop();

 private:
  void follow_models();
  // GET /v1/task from the central server into Engine::set_upstream_task;
  // false (logged) if it could not be fetched or parsed.
  bool fetch_task(HttpsClient& client);
  static constexpr std::chrono::seconds kTaskRefresh{30};
  // Paced adoption: waits until enough updates came in since the last
  // adoption (or the hold ran out); false once stopping.
  bool hold_adopted_version(int64_t accepted_at_adoption, std::chrono::steady_clock::time_point adopted_at);
  // The dispatcher: fetches unsent batches from the store into queue_
  // when new ones were formed (or every 0.5 s while idle).
  void forward_batches();
  // One of kConnections senders: POSTs queued batches, records answers.
  void send_batches();
  // Every exchange with the central server says whether the link works:
  // logs the changes, the metric, and tells the engine. REQUIRES: mu_.
  void note_link_locked(bool ok, const std::string& error);
  // Sleeps up to `seconds` unless stop() is called; false once stopping.
  bool pause(double seconds);

  const RelayUplinkOptions options_;
  Engine& engine_;
  HttpsClientOptions client_options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread follower_;
  std::thread forwarder_;
  // The forwarder's state, under mu_.
  std::deque<Engine::RelayBatchToSend> queue_;
  std::set<int64_t> in_flight_;            // queued or being sent
  std::map<int64_t, int64_t> answered_;    // batch id -> fetch_no_ when its answer was recorded
  int64_t fetch_no_ = 0;
  std::chrono::steady_clock::time_point retry_at_{};
  double backoff_s_ = 0.5;
  bool up_ = true;
  prometheus::Family<prometheus::Counter>* batches_ = nullptr;
  prometheus::Gauge* pending_ = nullptr;
  prometheus::Gauge* uplink_up_ = nullptr;
};

}  // namespace edgefed::server
