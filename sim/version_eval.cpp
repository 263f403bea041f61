#include "version_eval.hpp"

#include <vector>

#include "edgefed/model_io.hpp"
#include "server/store/read_only_store.hpp"

namespace edgefed::sim {
namespace {

Result<std::vector<uint8_t>> read_checkpoint(const std::string& db_path, int64_t version) {
  auto store = server::ReadOnlyStore::open(db_path);
  if (!store) return store.status();
  auto checkpoint = (*store)->checkpoint(version);
  if (!checkpoint) return checkpoint.status();
  if (!checkpoint->has_value())
    return Status(Code::kNotFound, "version " + std::to_string(version) + " has no checkpoint in " + db_path);
  const std::string& bytes = **checkpoint;
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace

Result<VersionAccuracy> evaluate_checkpoint(const std::string& db_path, int64_t version,
                                            ml::Evaluator& evaluator) {
  auto bytes = read_checkpoint(db_path, version);
  if (!bytes) return bytes.status();
  auto model = decode_model(*bytes);
  if (!model) return model.status();
  auto r = evaluator.evaluate(model->model);
  if (!r) return r.status();
  return VersionAccuracy{version, r->accuracy, r->loss};
}

}  // namespace edgefed::sim
