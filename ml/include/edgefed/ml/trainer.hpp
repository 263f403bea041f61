// Local training of any model a ModelSpec describes (dense, convolutional,
// pooling, activation and dropout layers; softmax cross-entropy, MSE and
// Huber losses; autoencoders) with Eigen: forward, backward, minibatch SGD
// with momentum, weight decay, gradient norm clipping, gradient accumulation
// and the FedProx proximal term.
//
// One optimizer step, PyTorch semantics (SGD, dampening 0, no Nesterov):
//   g  = mean over the step's samples of grad loss (accumulation_steps
//        micro-batches of batch_size each count as one batch of their union)
//      + proximal_mu * (w - w_global)
//   g *= min(1, clip_norm / ||g||)                 (if clip_norm > 0)
//   g += weight_decay * w                          (all parameters)
//   v  = momentum * v + g;  w -= lr * v
// The momentum buffer starts at zero at each train() call.
//
// Deterministic: the same global model, data, options and seed give
// bit-identical results on one machine (single thread; data order and
// dropout masks from our own generator). The AVX2 and portable kernels (kernel_isa()) round
// differently, so results agree across CPUs only to float precision.
// Denormals are flushed to zero while training (ScopedFlushDenormals).
//
// Thread safety: a Trainer is used by one thread at a time; many Trainers may
// run in parallel and share Datasets. It keeps no per-agent state between
// train() calls (only online_step's momentum), so a simulator can keep one
// Trainer per worker thread for any number of agents. Memory: gradient and
// momentum (2 x model size) and activation workspaces for the batch (about
// 2 x batch x the activations of one sample), kept; the local copy of the
// parameters (1 x model size) while training. For mlp:784-128-10 at batch
// 32: about 1.1 MB kept, 0.4 MB more during train().
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "edgefed/ml/dataset.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

// Which compute path the float kernels use: "avx2" (AVX2+FMA) when this
// x86-64 CPU has it and EDGEFED_TRAINER_ISA is not "generic"; "neon" on ARM
// builds where Eigen vectorises with NEON (every AArch64 build); else
// "generic" (the portable baseline). Read once per process; thread-safe.
const char* kernel_isa();

struct TrainOptions {
  int epochs = 1;                // passes over the data; ignored when steps > 0
  int64_t steps = 0;             // optimizer steps (cycling through the data); 0 = use epochs
  int batch_size = 32;           // samples per micro-batch
  float lr = 0.05f;              // learning rate
  float momentum = 0.9f;         // 0 = plain SGD
  float weight_decay = 0.0f;     // L2 coefficient (gradient += wd * w)
  float clip_norm = 0.0f;        // max gradient L2 norm, 0 = no clipping
  int accumulation_steps = 1;    // micro-batches per optimizer step
  float proximal_mu = 0.0f;      // FedProx: gradient += mu * (w - w_global)
  uint64_t seed = 0;             // data order
};

struct TrainResult {
  std::vector<float> delta;      // local - global, in layout order
  int64_t num_samples = 0;       // samples in the local data set
  int64_t samples_seen = 0;      // sample-gradient computations
  int64_t steps = 0;             // optimizer steps taken
  double train_loss = 0;         // mean loss over the samples seen, before each step
  double train_accuracy = 0;     // classification: fraction correct over the samples seen, before each step
  double samples_per_s = 0;
  double seconds = 0;
};

struct EvalResult {
  double loss = 0;               // mean loss (cross-entropy, or MSE/Huber per output)
  double accuracy = 0;           // classification: fraction correct
  double mae = 0;                // regression, autoencoder: mean |output - target| over all outputs
  double rmse = 0;               //   and the root of the mean squared error
  // Autoencoders, from ml::Evaluator: the share of samples whose
  // reconstruction error is above anomaly_threshold.
  double anomaly_share = 0;
  double anomaly_threshold = 0;
  int64_t num_samples = 0;
};

struct StepResult {
  double loss = 0;               // mean loss of the batch before the step
  double accuracy = 0;
  int64_t num_samples = 0;
};

// Checks options (positive batch, lr >= 0, ...): kInvalidArgument on bad ones.
Status validate(const TrainOptions& options);

class Trainer {
 public:
  // The trainer for the layout's architecture (ModelSpec::of_layout: its
  // model_spec, or the MLP of a layout written before specs); models must
  // have exactly this layout. kInvalidArgument if the layout has neither.
  // Allocates nothing large until the first call.
  static Result<Trainer> create(const ModelLayout& layout);
  static Trainer create(const ModelSpec& spec);

  // Trains a copy of `global` on `data` and returns the delta. Errors:
  // kDimensionMismatch (model layout differs from the trainer's; data width,
  // classes or targets do not fit the model: a classifier needs labels
  // below its outputs, a regression model as many targets as outputs),
  // kInvalidArgument (bad options, empty data), kNonFinite (the loss or
  // parameters became NaN/Inf: diverged).
  Result<TrainResult> train(const Model& global, const Dataset& data, const TrainOptions& options);

  // Loss and the task's metrics of `model` on `data` (empty data: zeros).
  Result<EvalResult> evaluate(const Model& model, const Dataset& data);

  // Each sample's loss, in data order: for an autoencoder its reconstruction
  // error, the anomaly score. Same errors as evaluate().
  Result<std::vector<float>> sample_losses(const Model& model, const Dataset& data);

  // The model's outputs for every sample of `data` (data.size() rows of
  // spec().output_size(), row-major): logits for a classifier, values for
  // regression, the reconstruction for an autoencoder. Labels and targets
  // are not needed. Errors: kDimensionMismatch (layout, input width).
  Result<std::vector<float>> predict(const Model& model, const Dataset& data);

  // Online learning on a stream: one optimizer step on `batch` applied to
  // `model` in place. The momentum buffer carries over between calls until
  // reset_online(); `anchor` (the last global model) is the proximal centre
  // when options.proximal_mu > 0. accumulation_steps is ignored.
  Result<StepResult> online_step(Model& model, const Dataset& batch, const TrainOptions& options,
                                 const Model* anchor = nullptr);
  void reset_online();

  const ModelLayout& layout() const;
  const ModelSpec& spec() const;

  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;
  ~Trainer();

 private:
  struct Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgefed::ml
