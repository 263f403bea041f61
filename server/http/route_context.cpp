#include "server/http/route_context.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "edgefed/log.hpp"

namespace edgefed::server::http {

void RouteContext::run_blocking(Responder done, std::function<ApiResponse()> work) const {
  boost::asio::post(workers_, [done = std::move(done), work = std::move(work)]() mutable {
    ApiResponse r;
    try {
      r = work();
    } catch (const std::exception& e) {
      log::error("handler_exception").kv("what", e.what());
      r = ApiResponse::error(Status(Code::kInternal, "internal error"));
    }
    done(std::move(r));
  });
}

void RouteContext::defer(std::function<void()> task) const {
  boost::asio::post(workers_, [task = std::move(task)] {
    try {
      task();
    } catch (const std::exception& e) {
      log::error("deferred_exception").kv("what", e.what());
    }
  });
}

}  // namespace edgefed::server::http
