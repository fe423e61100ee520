/* nnc/model.h — the ABI between a network compiled by nnc and whoever drives it.
 *
 * Every object nnc emits for a network NAME exports the functions its generated header
 * (NAME.h) declares, and one descriptor `nnc_model NAME_model` that points at them together
 * with the network's sizes and the training settings written in its .nn file. The runtime
 * (libnnrt, see nnc/nnrt.h) drives any model through this descriptor alone.
 *
 * Conventions of every generated function:
 *  - all buffers are owned by the caller; nothing is allocated, nothing global is written,
 *    so several models and threads may run at once;
 *  - `real` is float for `precision f32` and double for `precision f64` (see `precision`);
 *  - parameters are one flat array of `n_params` reals; fixed weights are not parameters;
 *  - samples are rows: x is n × n_inputs, y and t are n × n_outputs;
 *  - scratch must hold scratch_fixed + n × scratch_per_sample bytes, 64-byte aligned
 *    (forward alone needs less: NAME_FORWARD_SCRATCH_BYTES(n) of the generated header);
 *  - the object calls no C library, libm or runtime (docs/embedded.md).
 */
#ifndef NNC_MODEL_H
#define NNC_MODEL_H

#include <stdint.h>

#define NNC_ABI_VERSION 10

enum nnc_loss { NNC_LOSS_SQUARED = 0, NNC_LOSS_CROSS_ENTROPY = 1 };
/* The update rule (nnc/optim.h has one entry each). */
enum nnc_optimizer {
  NNC_OPT_SGD = 0, NNC_OPT_ADAM = 1, NNC_OPT_ADAMW = 2, NNC_OPT_RMSPROP = 3,
  NNC_OPT_RPROP = 4, NNC_OPT_IRPROP = 5, /* full-batch, sign-based (torch.optim.Rprop; FANN's iRPROP−) */
  NNC_OPT_COUNT = 6
};
/* The step-size schedule (`decay` in the train block; nnc/schedule.h has one entry each). */
enum nnc_decay {
  NNC_DECAY_NONE = 0, NNC_DECAY_INVERSE = 1, NNC_DECAY_EXPONENTIAL = 2, NNC_DECAY_STEP = 3,
  NNC_DECAY_COSINE = 4, NNC_DECAY_COSINE_RESTARTS = 5, NNC_DECAY_PLATEAU = 6, NNC_DECAY_COUNT = 7
};
enum nnc_format { NNC_FORMAT_AUTO = 0, NNC_FORMAT_CSV = 1, NNC_FORMAT_IDX = 2, NNC_FORMAT_FANN = 3 };
enum nnc_scale { NNC_SCALE_NONE = 0, NNC_SCALE_FACTOR = 1, NNC_SCALE_ZSCORE = 2, NNC_SCALE_MINMAX = 3 };
/* What the network is scored by (`metric` in the train block). AUTO: decided by the runtime
 * from the network and the targets (see nnrt_metric_resolve in nnc/nnrt.h). */
enum nnc_metric {
  NNC_METRIC_AUTO = 0, NNC_METRIC_CLASSIFICATION = 1, NNC_METRIC_MULTILABEL = 2, NNC_METRIC_REGRESSION = 3
};

/* One data source of the train block: `data ...;` or `test ...;`. Column lists are CSV
 * column indices (0-based); for IDX sources `path` holds the images and `labels` the labels. */
typedef struct nnc_data_source {
  const char *path;            /* NULL: the source is absent */
  const char *labels;          /* IDX label file, or NULL */
  int32_t format;              /* enum nnc_format */
  int32_t header;              /* CSV: 1 header row, 0 none, -1 detect */
  int32_t n_input_cols;
  const int32_t *input_cols;   /* NULL with n_input_cols 0: every column not a target */
  int32_t n_target_cols;
  const int32_t *target_cols;
  int32_t onehot;              /* the single target column is a class index, one-hot encoded */
  int32_t scale;               /* enum nnc_scale, applied to inputs */
  double scale_factor;         /* NNC_SCALE_FACTOR: inputs are multiplied by it */
  int32_t targets_inputs;      /* `targets inputs`: the targets are the inputs (an autoencoder) */
  int32_t target_scale;        /* enum nnc_scale (zscore or minmax), applied to the targets */
  int32_t delimiter;           /* CSV: the byte between fields; 0 means ',' */
} nnc_data_source;

/* The schedule's constants beyond decay_rate and decay_every, warmup and gradient clipping
 * (nnc/schedule.h; docs/language.md gives every formula). */
typedef struct nnc_schedule_settings {
  int32_t period;              /* cosine: T_max epochs; cosine_restarts: the first period T_0 */
  int32_t period_mult;         /* cosine_restarts: each period T_mult times the last, ≥ 1 */
  double min_rate;             /* cosine: eta_min; plateau: min_lr */
  double factor;               /* plateau: rate ×= factor on a plateau, in (0, 1) */
  int32_t patience;            /* plateau: epochs without improvement tolerated */
  int32_t cooldown;            /* plateau: epochs ignored after a reduction */
  double threshold;            /* plateau: better means loss < best·(1 − threshold) */
  int32_t warmup;              /* linear warmup over this many epochs (or steps), 0: none */
  int32_t warmup_steps;        /* 1: warmup counts updates; 0: epochs */
  double warmup_from;          /* the warmup's first factor of the rate, in (0, 1] */
  double clip_norm;            /* clip the gradient's global L2 norm to this, 0: off */
  double clip_value;           /* clip each gradient component to ±this, 0: off */
} nnc_schedule_settings;

/* The train block with every default filled in by the compiler. */
typedef struct nnc_train_settings {
  nnc_data_source data, test;
  int32_t loss;                /* enum nnc_loss */
  double rate;                 /* initial step size, > 0 */
  int32_t decay;               /* enum nnc_decay */
  double decay_rate;           /* inverse: rate/(1+k·t); exponential: rate·k^epoch; step: ×k */
  int32_t decay_every;         /* step schedule: epochs between steps */
  double momentum;             /* 0 ≤ momentum < 1 */
  int32_t batch;               /* ≥ 1; 1 is per-sample SGD */
  int32_t epochs;
  int32_t restarts;            /* ≥ 1 independent initialisations, best kept */
  uint64_t seed;
  double validation;           /* fraction of data held out, 0 ≤ v < 1 */
  int32_t patience;            /* early stopping: epochs without improvement, 0 = off */
  const char *checkpoint;      /* path or NULL */
  int32_t checkpoint_every;    /* epochs */
  int32_t metric;              /* enum nnc_metric */
  int32_t shuffle_off;         /* 1: every epoch visits the samples in data order (`shuffle off`) */
  int32_t optimizer;           /* enum nnc_optimizer */
  double beta1, beta2;         /* adam, adamw: moment decays, each in [0, 1) */
  double eps;                  /* adam, adamw, rmsprop: added to the denominator, > 0 */
  double weight_decay;         /* L2 (sgd, adam, rmsprop) or decoupled (adamw), ≥ 0 */
  double alpha;                /* rmsprop: mean-square decay in [0, 1) */
  int32_t amsgrad, centered, nesterov; /* adam/adamw, rmsprop, sgd switches */
  /* rprop, irprop: step-size factors after a sign change (0 < eta_minus < 1) and after the
   * same sign (eta_plus > 1), and the step sizes' bounds (0 ≤ step_min ≤ step_max). */
  double eta_minus, eta_plus, step_min, step_max;
  double dampening;            /* sgd: the gradient's share of the momentum buffer is 1 − dampening */
  nnc_schedule_settings sched; /* the schedule's constants, warmup, clipping */
} nnc_train_settings;

typedef struct nnc_model {
  int32_t abi_version;         /* NNC_ABI_VERSION */
  const char *name;
  uint64_t fingerprint;        /* hash of the network's structure: refuses foreign weights */
  int32_t real_bytes;          /* 4 (f32) or 8 (f64) */
  int32_t n_inputs, n_outputs;
  int64_t n_params;
  int64_t scratch_fixed, scratch_per_sample;
  int32_t classifier;          /* 1: outputs are class scores (argmax is the prediction) */
  const nnc_train_settings *train;

  /* Parameters from the .nn init scheme and literal weights, deterministic in seed. */
  void (*init)(void *params, uint64_t seed);
  /* y = network(x) for n samples. */
  void (*forward)(const void *params, int64_t n, const void *x, void *y, void *scratch);
  /* Adds ∂L/∂params summed over n samples into grad; returns the summed loss. */
  double (*loss_grad)(const void *params, int64_t n, const void *x, const void *t, void *grad,
                      void *scratch);
  /* One SGD step on a batch of n: forward, backward, update (v = m·v − rate·g/n;
   * p += v, velocity unused when momentum is 0). n = 1 is the per-sample SGD of the design,
   * the update fused into the backward sweep; a batch of more than
   * nnc_batch_part_samples(scratch_per_sample) has its gradient summed chunk by chunk and
   * stepped after. Returns the batch's summed loss. */
  double (*train_step)(void *params, void *velocity, int64_t n, const void *x, const void *t,
                       double rate, double momentum, void *scratch);
  /* y = network(x) and the summed loss against t, without a backward pass (may be NULL in
   * hand-written models: the runtime then uses forward and loss_grad). */
  double (*evaluate)(const void *params, int64_t n, const void *x, const void *t, void *y,
                     void *scratch);
  /* Per-sample SGD (momentum 0) over n samples in order, sample s stepped with rates[s]: the
   * same as n calls of train_step with n = 1, pipelined so that each sample's update and the
   * next sample's first products share one pass over the weights. Returns the summed loss.
   * May be NULL (hand-written models, inference-only objects). */
  double (*train_sequence)(void *params, int64_t n, const void *x, const void *t, const double *rates,
                           void *scratch);

  /* Input scaling compiled in. An object compiled with trained weights (nnc --weights) whose
   * network scales its inputs carries the scaling its weights were trained with: forward and
   * evaluate take raw inputs and compute x' = (x − scale_offset[i]) × scale_mul[i] (in double)
   * themselves, so the runtime never scales for it and never needs the training data.
   * scale_mode is the enum nnc_scale the statistics came from. NNC_SCALE_NONE (arrays NULL):
   * the model uses its inputs as given; whoever drives it scales them (the runtime does, with
   * the SCAL section of the weights file). */
  int32_t scale_mode;
  const double *scale_offset, *scale_mul; /* n_inputs each */

  /* The network's structure for ONNX export (`weights export --onnx`): a plan the compiler
   * wrote from the network IR, which the runtime's writer (nnrt_onnx_write) fills with the
   * parameters. Words of 8 bytes, little-endian (integers int64, reals IEEE double):
   *   magic NNC_ONNX_PLAN_MAGIC, n_groups, n_order, order[n_order] (ids of hidden and
   *   output groups in evaluation order), then each group in id order:
   *     role (0 input, 1 bias, 2 hidden, 3 output), size, act (0 identity, 1 sigmoid, 2 relu,
   *     3 tanh, 4 leaky_relu, 5 softplus, 6 softmax, 7 step, 8 log_softmax), act_param (real),
   *     io_offset, name_bytes, the name in ceil(name_bytes / 8) words (zero padded), n_in,
   *     then n_in edge sets: kind (0 dense, 1 from one neuron), src, src_index,
   *     param_offset (−1: fixed weights), count, n_values (0 for parameters, 1 for one fixed
   *     weight of every edge, count for one fixed weight per edge), n_values reals.
   * NULL (size 0) in objects (nnc -c: firmware has no use for it) and in models written by
   * hand; export refuses those. */
  const unsigned char *onnx_plan;
  int64_t onnx_plan_bytes;

  /* Dropout (`layer h[64] relu dropout 0.2;`): the units of the groups with dropout, in group
   * order, and each one's p. With n_dropout > 0, loss_grad and train_step multiply each such
   * unit's output, and its delta, by a mask their caller writes into scratch: the mask of
   * sample s is n_dropout reals at byte dropout_mask_offset + s·n_dropout·real_bytes, each 0
   * or 1/(1 − p) (all 1: no unit dropped). forward, evaluate and train_sequence never drop
   * units (the runtime trains such a model without train_sequence). n_dropout 0,
   * dropout_rates NULL: no dropout. */
  int64_t n_dropout;
  const double *dropout_rates;
  int64_t dropout_mask_offset;

  /* One step of an optimizer the runtime applies (nnc/optim.h: every one but plain SGD), its
   * update beside the backward sweep: the summed gradient of the n ≥ 1 samples is stored into
   * grad (no zeroing needed first) and each range [lo, hi) of it passed to update(ctx, lo, hi)
   * as soon as it is complete and the sweep no longer reads those parameters (the batch
   * kernels: one edge set's weights or biases at a time, while they are in cache; otherwise
   * all at once at the end). Every parameter is in exactly one range; none is passed when the
   * loss is not finite. Returns the summed loss. May be NULL: the runtime then zeroes grad,
   * calls loss_grad and updates after it. */
  double (*loss_grad_update)(void *params, int64_t n, const void *x, const void *t, void *grad, void *scratch,
                             void (*update)(void *ctx, int64_t lo, int64_t hi), void *ctx);

  /* A mini-batch SGD step (momentum 0) that threads share, each computing what it owns, with
   * no gradient buffer. The batch is cut into n_parts contiguous parts; part s (ns[s] ≥ 0
   * samples, inputs xs[s], its own scratch scratches[s] of SCRATCH_BYTES(ns[s])) first gets
   * train_deltas(params, ns[s], xs[s], its targets, scratches[s]): the forward pass and every
   * layer's deltas left in its scratch, the summed loss returned, nothing updated (dropout's
   * masks written by the caller as for loss_grad). When every part is done, each of
   * `of` = n_parts callers runs train_rows(params, n_parts, ns, xs, scratches, rate, part, of)
   * for its own part: the rows of every layer that part owns get the step
   * p −= rate/N · Σ g over all N = Σ ns[s] samples, summed in sample order, so the parameters
   * are the same bits as train_step's on the whole batch while it is at most one part
   * (nnc_batch_part_samples of nnc/limits.h; beyond it train_step sums its gradient chunk by
   * chunk and steps after, which rounds differently). Both NULL where the model has no
   * batch kernels (and in hand-written models): the runtime then sums per-thread gradients. */
  double (*train_deltas)(const void *params, int64_t n, const void *x, const void *t, void *scratch);
  void (*train_rows)(void *params, int64_t n_parts, const int64_t *ns, const void *const *xs,
                     void *const *scratches, double rate, int64_t part, int64_t of);

  /* The x86-64 extensions the code may use (bits of nnc/cpu_features.h; 0 on other
   * architectures and in hand-written models): the runtime refuses a CPU without one. */
  uint64_t x86_features;
} nnc_model;

#define NNC_ONNX_PLAN_MAGIC 0x314e414c50584e4eull /* "NNXPLAN1" */

#endif
