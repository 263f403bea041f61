#include "agent/loop/model_sync.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "edgefed/file_io.hpp"
#include "edgefed/log.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_io.hpp"

namespace edgefed::agent {
namespace {

constexpr size_t kMaxTaskBytes = 1u << 20;

}  // namespace

ModelSync::ModelSync(std::string state_dir, std::string agent_id)
    : state_dir_(std::move(state_dir)), agent_id_(std::move(agent_id)), cache_(state_dir_) {}

void ModelSync::load_cached() {
  std::ifstream in(state_dir_ + "/task.json", std::ios::binary);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = parse_json(ss.str(), kMaxTaskBytes);
    auto t = j ? parse_task(*j) : Result<Task>(j.status());
    if (t) {
      task_ = *t;
    } else {
      log::warn("cached_task_ignored").kv("agent", agent_id_).kv("error", t.status().to_string());
    }
  }
  auto cached = cache_.load();
  if (!cached) {
    log::warn("cached_model_ignored").kv("agent", agent_id_).kv("error", cached.status().to_string());
    return;
  }
  if (!*cached) return;
  Status st = adopt_model(std::move((*cached)->bytes), std::move((*cached)->etag), false);
  if (!st.is_ok()) {
    log::warn("cached_model_ignored").kv("agent", agent_id_).kv("error", st.to_string());
    return;
  }
  log::info("cached_model_loaded").kv("agent", agent_id_).kv("version", version_);
}

Status ModelSync::adopt_model(std::string bytes, std::string etag, bool store) {
  auto decoded = decode_model(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!decoded) return decoded.status();
  // The architecture must be one this agent can train before the model may
  // replace the last good one (a newer server may use layers it lacks).
  if (auto spec = ml::ModelSpec::of_layout(decoded->model.layout); !spec)
    return Status(Code::kInvalidArgument, "model version " + std::to_string(decoded->version) +
                                              " cannot be trained here: " + spec.status().message());
  if (store) {
    Status st = cache_.store({bytes, etag});
    if (!st.is_ok())  // training can go on from memory; only the restart copy is lost
      log::warn("model_cache_write_failed").kv("agent", agent_id_).kv("error", st.to_string());
  }
  model_ = std::move(decoded->model);
  version_ = decoded->version;
  etag_ = std::move(etag);
  return Status::ok();
}

RefreshResult ModelSync::refresh(Link& link, int wait_s, bool want_task) {
  RefreshResult out;
  auto fetched = link.fetch_model(model_ ? etag_ : "", version_, model_ ? wait_s : 0);
  if (!fetched) {
    out.error = fetched.status();
    return out;
  }
  if (!fetched->not_modified) {
    const int64_t before = version_;
    const int64_t offered = fetched->version;
    Status st = adopt_model(std::move(fetched->bytes), std::move(fetched->etag), true);
    if (!st.is_ok()) {
      // Once per refused version: the same model comes back at every poll.
      if (offered != last_refused_version_)
        log::error("model_refused").kv("agent", agent_id_).kv("version", offered).kv("error", st.to_string());
      last_refused_version_ = offered;
      out.error = st;
      out.refused = true;
      out.refused_version = offered;
      return out;
    }
    out.new_model = version_ != before;
    if (out.new_model)
      log::debug("model_updated").kv("agent", agent_id_).kv("version", version_).kv("previous", before);
  }
  if (!want_task && !out.new_model && task_) {
    out.task_ok = true;
    return out;
  }
  auto task = link.fetch_task();
  if (!task) {
    out.error = task.status();
    return out;
  }
  out.task_fetched = true;
  if (!task->model_spec.empty()) {
    if (auto spec = ml::ModelSpec::parse(task->model_spec); !spec) {
      out.error = Status(Code::kInvalidArgument, "task for version " + std::to_string(task->model_version) +
                                                     " cannot be trained here: " + spec.status().message());
      out.refused = true;
      log::error("task_refused").kv("agent", agent_id_).kv("error", out.error.to_string());
      return out;
    }
  }
  out.task_ok = true;
  if (!task_ || to_json(*task_) != to_json(*task)) {
    Status st = write_file_atomic(state_dir_ + "/task.json", to_json(*task).dump());
    if (!st.is_ok())
      log::warn("task_cache_write_failed").kv("agent", agent_id_).kv("error", st.to_string());
  }
  task_ = *task;
  return out;
}

}  // namespace edgefed::agent
