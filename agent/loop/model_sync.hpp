// The agent's view of the server's plan: the latest task and global model,
// kept in memory and on disk (--state-dir) so training continues offline and
// across restarts:
//   task.json          the last task, as the server sent it
//   model.safetensors  the last global model (ModelCache), with model.etag
// A damaged cache is ignored with a warning (the next fetch replaces it).
//
// Thread safety: none; the agent's thread. Accessors that return references
// are valid until the next refresh().
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/link/link.hpp"
#include "agent/link/model_cache.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

struct RefreshResult {
  bool task_ok = false;     // a task came back this time (or was not needed)
  bool task_fetched = false;  // GET /v1/task was made and answered
  bool new_model = false;   // a model newer than the one held came back
  Status error;             // why not (kUnavailable: link down; else server refusal)
  // The server's model or task has an architecture this agent cannot run
  // (unknown layer type or loss, tensors that do not match the spec): the
  // version refused (-1 if the task was), with the reason in `error`. The
  // last good model and task stay in use.
  bool refused = false;
  int64_t refused_version = -1;
};

class ModelSync {
 public:
  ModelSync(std::string state_dir, std::string agent_id);

  // Loads task.json and the cached model if present. Never fails: a damaged
  // file is logged and skipped.
  void load_cached();

  // GET /v1/model (If-None-Match; wait_s > 0 long-polls for a version after
  // the one held), then GET /v1/task if a new model came, no task is held
  // yet, or want_task. Stores what changed on disk.
  RefreshResult refresh(Link& link, int wait_s = 0, bool want_task = true);

  bool has_model() const { return model_.has_value(); }
  bool has_task() const { return task_.has_value(); }
  // REQUIRES: has_model() / has_task().
  const Model& model() const { return *model_; }
  int64_t version() const { return version_; }
  const Task& task() const { return *task_; }

 private:
  Status adopt_model(std::string bytes, std::string etag, bool store);

  std::string state_dir_;
  std::string agent_id_;
  ModelCache cache_;
  std::optional<Task> task_;
  std::optional<Model> model_;
  int64_t version_ = -1;
  int64_t last_refused_version_ = -2;  // the last version refused (logged once)
  std::string etag_;
};

}  // namespace edgefed::agent
