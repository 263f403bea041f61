#include "server/http/long_poll.hpp"

#include <boost/asio/post.hpp>

namespace edgefed::server::http {

namespace net = boost::asio;

LongPoll::LongPoll(net::io_context& ioc, Engine& engine, int64_t after, std::chrono::milliseconds wait, Done done)
    : strand_(net::make_strand(ioc)),
      timer_(strand_),
      engine_(engine),
      after_(after),
      wait_(wait),
      done_(std::move(done)) {}

void LongPoll::start() {
  net::post(strand_, [self = shared_from_this()] {
    if (self->finished_) return;
    self->timer_.expires_after(self->wait_);
    self->timer_.async_wait([self](const boost::system::error_code& ec) { self->on_timer(ec); });
    // The callback may run right here (a newer version exists already); it
    // only posts, so finish() runs after this block, with callback_id_ set.
    self->callback_id_ = self->engine_.on_version_after(self->after_, [self](Engine::ModelSnapshot snap) {
      net::post(self->strand_, [self, snap = std::move(snap)]() mutable {
        self->registered_ = false;
        self->finish(Outcome::kNewVersion, std::move(snap));
      });
    });
    self->registered_ = true;
  });
}

void LongPoll::cancel() {
  net::post(strand_, [self = shared_from_this()] { self->finish(Outcome::kDrained, {}); });
}

void LongPoll::on_timer(const boost::system::error_code& ec) {
  if (ec == net::error::operation_aborted) return;  // finish() cancelled it
  finish(Outcome::kTimeout, {});
}

void LongPoll::finish(Outcome outcome, Engine::ModelSnapshot snapshot) {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  if (registered_) {
    engine_.cancel(callback_id_);
    registered_ = false;
  }
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(outcome, std::move(snapshot));
}

}  // namespace edgefed::server::http
