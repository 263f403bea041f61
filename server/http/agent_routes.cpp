#include "server/http/agent_routes.hpp"

#include <charconv>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgefed/log.hpp"
#include "edgefed/protocol.hpp"
#include "server/http/long_poll.hpp"

namespace edgefed::server::http {
namespace {

// A non-negative decimal integer, or nullopt.
std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || v < 0) return std::nullopt;
  return v;
}

std::optional<double> parse_seconds(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v >= 0) || v > 1e6) return std::nullopt;
  return v;
}

}  // namespace

ApiResponse model_response(const Engine::ModelSnapshot& snap, bool not_modified) {
  ApiResponse r;
  r.status = not_modified ? 304 : 200;
  r.content_type = not_modified ? "" : "application/octet-stream";
  r.headers.emplace_back("ETag", snap.etag);
  r.headers.emplace_back("X-Model-Version", std::to_string(snap.version));
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (!not_modified) r.body = snap.bytes;
  return r;
}

void AgentRoutes::get_model(ApiRequest& req, Responder done) {
  const auto query = parse_query(req.target);
  std::optional<int64_t> after;
  double wait_s = 0;
  if (auto it = query.find("after"); it != query.end()) {
    after = parse_int(it->second);
    if (!after) return done(ApiResponse::error(Status(Code::kInvalidArgument, "after must be a version >= 0")));
  }
  if (auto it = query.find("wait"); it != query.end()) {
    const auto w = parse_seconds(it->second);
    if (!w) return done(ApiResponse::error(Status(Code::kInvalidArgument, "wait must be seconds >= 0")));
    wait_s = std::min(*w, ctx_.options().max_long_poll_s);
  }
  const Engine::ModelSnapshot snap = ctx_.engine().current_model();
  const bool etag_matches = !req.if_none_match.empty() && req.if_none_match == snap.etag;
  // The version the client already has: ?after=V, else the one its ETag names.
  const bool has_current = after ? snap.version <= *after : etag_matches;
  if (!has_current) return done(model_response(snap, false));
  if (wait_s <= 0) return done(model_response(snap, true));

  const int64_t since = after ? *after : snap.version;
  // The registry key is known only once the poll exists; completion always
  // runs after start(), so it is set by then.
  auto key = std::make_shared<LongPoll*>(nullptr);
  auto poll = std::make_shared<LongPoll>(
      ioc_, ctx_.engine(), since, std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000)),
      [this, key, done = std::move(done)](LongPoll::Outcome outcome, Engine::ModelSnapshot fresh) mutable {
        forget_poll(*key);
        switch (outcome) {
          case LongPoll::Outcome::kNewVersion: done(model_response(fresh, false)); break;
          case LongPoll::Outcome::kTimeout: done(model_response(ctx_.engine().current_model(), true)); break;
          case LongPoll::Outcome::kDrained: {
            ApiResponse r = ApiResponse::error(Status(Code::kUnavailable, "server is shutting down"));
            r.close = true;
            done(std::move(r));
            break;
          }
        }
      });
  *key = poll.get();
  {
    std::lock_guard lock(polls_mu_);
    polls_[poll.get()] = poll;
  }
  poll->start();
  if (ctx_.draining()) poll->cancel();
}

void AgentRoutes::cancel_polls() {
  std::vector<std::shared_ptr<LongPoll>> polls;
  {
    std::lock_guard lock(polls_mu_);
    for (auto& [ptr, weak] : polls_)
      if (auto p = weak.lock()) polls.push_back(std::move(p));
  }
  for (auto& p : polls) p->cancel();
}

void AgentRoutes::forget_poll(LongPoll* poll) {
  std::lock_guard lock(polls_mu_);
  polls_.erase(poll);
}

void AgentRoutes::get_task(const Principal& who, Responder done) {
  ctx_.run_blocking(std::move(done), [this, agent = who.agent_id] {
    auto task = ctx_.engine().task_for(agent);
    if (!task) return ApiResponse::error(task.status());
    return ApiResponse::json(200, to_json(*task).dump());
  });
}

void AgentRoutes::post_update(ApiRequest& req, const Principal& who, Responder done) {
  // On this io thread: the engine's part before the writer is well under a
  // millisecond (the body is decoded in place and spooled) and it waits for
  // nothing; the answer comes from the engine's thread that completed it,
  // straight to the connection. No worker thread sleeps per update.
  auto answer = [agent = who.agent_id, done](Result<UpdateAck> ack) {
    if (!ack) {
      log::info("update_refused").kv("agent", agent).kv("reason", ack.status().to_string());
      return done(ApiResponse::error(ack.status()));
    }
    done(ApiResponse::json(202, to_json(*ack).dump()));
  };
  try {
    const std::span<const uint8_t> bytes = req.body->bytes();
    ctx_.engine().submit_update_async(who.agent_id, bytes, req.body, std::move(answer),
                                      [this](std::function<void()> task) { ctx_.defer(std::move(task)); });
  } catch (const std::exception& e) {
    log::error("handler_exception").kv("what", e.what());
    done(ApiResponse::error(Status(Code::kInternal, "internal error")));
  }
}

void AgentRoutes::post_telemetry(ApiRequest& req, const Principal& who, Responder done) {
  ctx_.run_blocking(std::move(done), [this, agent = who.agent_id, body = req.body] {
    auto json = parse_json(*body, ctx_.options().json_body_limit);
    if (!json) return ApiResponse::error(json.status());
    auto batch = parse_telemetry_batch(*json);
    if (!batch) return ApiResponse::error(batch.status());
    auto ack = ctx_.engine().submit_telemetry(agent, *batch);
    if (!ack) return ApiResponse::error(ack.status());
    return ApiResponse::json(200, to_json(*ack).dump());
  });
}

}  // namespace edgefed::server::http
