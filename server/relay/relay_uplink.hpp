// RelayUplink: what makes edgefed-server a site relay (--upstream URL;
// docs/relays.md). Two threads, each with its own HTTPS connection to the
// central server and the relay's client certificate:
//   - the model follower long-polls GET /v1/model?after=V and hands each
//     newer central version to Engine::adopt_upstream, so the relay's
//     agents train on (and the relay serves, from its store) the central
//     model under the central version numbers;
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
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

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

struct RelayUplinkOptions {
  std::string upstream;   // https://HOST:PORT of the central server
  std::string ca_file;    // verifies the central server's certificate
  std::string cert_file;  // the relay's client certificate (its agent id is the CN)
  std::string key_file;
  double long_poll_s = 25;
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
  void forward_batches();
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
  prometheus::Family<prometheus::Counter>* batches_ = nullptr;
  prometheus::Gauge* pending_ = nullptr;
  prometheus::Gauge* uplink_up_ = nullptr;
};

}  // namespace edgefed::server
