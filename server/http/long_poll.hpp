// One pending GET /v1/model?wait=S&after=V: completes with the first model
// version > V (Engine::on_version_after), or with nothing when S seconds pass,
// or as "drained" when the server shuts down, whichever comes first, exactly
// once. Runs on its own strand; safe to cancel from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "server/engine/engine.hpp"

namespace edgefed::server::http {

class LongPoll : public std::enable_shared_from_this<LongPoll> {
 public:
  enum class Outcome { kNewVersion, kTimeout, kDrained };
  using Done = std::function<void(Outcome, Engine::ModelSnapshot)>;

  LongPoll(boost::asio::io_context& ioc, Engine& engine, int64_t after, std::chrono::milliseconds wait,
           Done done);
  void start();
  // Completes with kDrained unless already complete.
  void cancel();

 private:
  void on_timer(const boost::system::error_code& ec);
  void finish(Outcome outcome, Engine::ModelSnapshot snapshot);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  Engine& engine_;
  int64_t after_;
  std::chrono::milliseconds wait_;
  Done done_;
  bool finished_ = false;  // strand only
  uint64_t callback_id_ = 0;
  bool registered_ = false;
};

}  // namespace edgefed::server::http
