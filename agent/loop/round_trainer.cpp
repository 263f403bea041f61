#include "agent/loop/round_trainer.hpp"

#include <chrono>

namespace edgefed::agent {

ml::TrainOptions train_options_for(const Task& task, int accumulation_steps, uint64_t seed) {
  ml::TrainOptions o;
  o.epochs = task.epochs;
  o.steps = task.steps;
  o.batch_size = task.batch_size;
  o.lr = static_cast<float>(task.lr);
  o.momentum = static_cast<float>(task.momentum);
  o.weight_decay = static_cast<float>(task.weight_decay);
  o.clip_norm = static_cast<float>(task.clip_norm);
  o.proximal_mu = static_cast<float>(task.proximal_mu);
  o.accumulation_steps = accumulation_steps;
  o.seed = seed;
  return o;
}

std::unique_ptr<RoundTrainer> RoundTrainer::with_data(ml::LocalData data, RoundOptions options) {
  return std::unique_ptr<RoundTrainer>(new RoundTrainer(std::move(data), nullptr, options));
}

std::unique_ptr<RoundTrainer> RoundTrainer::with_stream(std::unique_ptr<ml::StreamSource> stream,
                                                        RoundOptions options) {
  return std::unique_ptr<RoundTrainer>(new RoundTrainer(std::nullopt, std::move(stream), options));
}

RoundTrainer::RoundTrainer(std::optional<ml::LocalData> data, std::unique_ptr<ml::StreamSource> stream,
                           RoundOptions options)
    : data_(std::move(data)), stream_(std::move(stream)), options_(options) {}

Status RoundTrainer::ensure_trainer(const ModelLayout& layout) {
  if (trainer_ && trainer_->layout() == layout) return Status::ok();
  auto t = ml::Trainer::create(layout);
  if (!t) return t.status();
  trainer_.emplace(std::move(*t));
  return Status::ok();
}

Result<RoundResult> RoundTrainer::train(const Model& global, const Task& task, uint64_t seed,
                                        const std::atomic<bool>& stop) {
  EDGEFED_RETURN_IF_ERROR(ensure_trainer(global.layout));
  const ml::TrainOptions o = train_options_for(task, options_.accumulation_steps, seed);
  if (stream_) return train_stream(global, o, stop);
  auto r = trainer_->train(global, data_->train, o);
  if (!r) return r.status();
  RoundResult out;
  out.delta = std::move(r->delta);
  out.num_samples = std::max<int64_t>(1, r->num_samples);
  out.steps = r->steps;
  out.train_loss = r->train_loss;
  out.train_accuracy = r->train_accuracy;
  out.samples_per_s = r->samples_per_s;
  out.seconds = r->seconds;
  if (data_->normalizer) out.normalizer = data_->normalizer->to_string();
  if (!data_->validation.empty()) {
    Model local = global;
    for (size_t i = 0; i < local.params.size(); ++i) local.params[i] += out.delta[i];
    auto v = trainer_->evaluate(local, data_->validation);
    if (v) out.validation = *v;
  }
  return out;
}

Result<std::optional<RoundTrainer::Holdout>> RoundTrainer::evaluate_holdout(const Model& model) {
  if (!data_ || data_->validation.empty()) return std::optional<Holdout>();
  EDGEFED_RETURN_IF_ERROR(ensure_trainer(model.layout));
  Holdout h;
  h.task = trainer_->spec().task();
  auto e = trainer_->evaluate(model, data_->validation);
  if (!e) return e.status();
  h.eval = *e;
  if (h.task == ml::TaskType::kAutoencoder) {
    auto losses = trainer_->sample_losses(model, data_->validation);
    if (!losses) return losses.status();
    h.sample_losses = std::move(*losses);
  }
  return std::optional<Holdout>(std::move(h));
}

Result<RoundResult> RoundTrainer::train_stream(const Model& global, const ml::TrainOptions& o,
                                               const std::atomic<bool>& stop) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto deadline = start + std::chrono::milliseconds(options_.max_round_ms);
  const int64_t want_steps = o.steps > 0 ? o.steps : options_.stream_steps;
  Model local = global;
  trainer_->reset_online();
  RoundResult out;
  double loss_sum = 0, acc_sum = 0, train_s = 0;
  while (out.steps < want_steps && !stop.load() && clock::now() < deadline && !stream_->eof()) {
    auto batch = stream_->next_batch(std::chrono::milliseconds(200));
    if (!batch) return batch.status();
    if (batch->empty()) continue;
    const auto t0 = clock::now();
    auto step = trainer_->online_step(local, *batch, o, &global);
    train_s += std::chrono::duration<double>(clock::now() - t0).count();
    if (!step) return step.status();
    ++out.steps;
    out.num_samples += step->num_samples;
    loss_sum += step->loss * static_cast<double>(step->num_samples);
    acc_sum += step->accuracy * static_cast<double>(step->num_samples);
  }
  if (out.num_samples == 0) return Status(Code::kUnavailable, "no stream records this round");
  out.delta.resize(global.params.size());
  for (size_t i = 0; i < out.delta.size(); ++i) out.delta[i] = local.params[i] - global.params[i];
  out.train_loss = loss_sum / static_cast<double>(out.num_samples);
  out.train_accuracy = acc_sum / static_cast<double>(out.num_samples);
  out.seconds = train_s;
  out.samples_per_s = train_s > 0 ? static_cast<double>(out.num_samples) / train_s : 0;
  if (auto n = stream_->normalizer()) out.normalizer = n->to_string();
  return out;
}

}  // namespace edgefed::agent
