/* nnc/nnrt.h — libnnrt, the runtime that turns a compiled network into a tool.
 *
 * A network compiled by nnc exports one `nnc_model` descriptor (nnc/model.h). libnnrt drives
 * it through that descriptor alone: it loads data, trains, saves and loads weights, evaluates
 * and predicts. It never interprets the network; it only calls the descriptor's functions.
 *
 * The generated executable's main is exactly
 *
 *     int main(int argc, char **argv) { return nnrt_main(&NAME_model, argc, argv); }
 *
 * Applications that link a model object can instead use the library API below.
 *
 * Conventions:
 *  - every function that can fail returns an `enum nnrt_status` and, when it is not NNRT_OK,
 *    fills `err->msg` with a one-line message (`data.csv:17: expected 3 fields, found 2`);
 *    `err` may be NULL. No library function exits or prints, except nnrt_main and the progress
 *    display of nnrt_trainer_run (to the FILE given in its options).
 *  - every `create` or `load` that hands out an object has a matching `destroy`;
 *  - all memory goes through one allocator hook (nnrt_set_allocator), so tests can inject
 *    out-of-memory: every function then returns NNRT_ENOMEM and leaks nothing.
 *  - "reals" are float when the model's real_bytes is 4 and double when it is 8; datasets are
 *    stored in the model's precision.
 *
 * Weights file (`*.weights`), all integers little-endian, reals IEEE-754 little-endian:
 *
 *     offset size  field
 *      0      4    magic "NNCW"
 *      4      4    u32 format version (NNRT_WEIGHTS_VERSION)
 *      8      8    u64 fingerprint of the network (nnc_model.fingerprint)
 *     16      8    i64 n_params
 *     24      4    u32 real_bytes (4 or 8)
 *     28      4    u32 number of trailer sections
 *     32      8    u64 size in bytes of the trailer sections
 *     40      8    u64 checksum: FNV-1a 64 over every byte of the file except these 8
 *     48      n_params × real_bytes   the parameters
 *     ...     trailer sections, each: char tag[4], u32 0, u64 length, `length` bytes
 *
 * Known sections (a loader ignores tags it does not know):
 *   "SCAL"  input scaling learned from the training data, applied to every later input:
 *           u32 n_inputs, u32 mode (enum nnc_scale), then n_inputs f64 offsets and n_inputs f64
 *           multipliers; x' = (x − offset) × multiplier.
 *   "CKPT"  training state of a checkpoint (see nnrt_checkpoint_state below, stored field by
 *           field as i64/u64/f64 in declaration order).
 *   "VELO"  the momentum velocity, n_params reals (SGD).
 *   "OPTM"  the state of any other optimizer (nnc/optim.h): u32 optimizer (enum
 *           nnc_optimizer), u32 slots, then slots × n_params reals (Adam: first moments, second
 *           moments, largest second moments; RMSProp: mean squares, momentum buffers, mean
 *           gradients). Its step count t is CKPT's steps. A checkpoint resumes only with the
 *           optimizer that wrote it; one without OPTM is SGD's.
 *   "SCHD"  the state of `decay plateau` (runtime/schedule.c): f64 rate, f64 best loss, i64
 *           epochs without improvement, i64 cooldown epochs left. Written when training with
 *           decay plateau; training with it resumes only a checkpoint that has it (or one from
 *           before its first epoch ended). Every other schedule's position is CKPT's epoch and
 *           steps.
 *   "RBST"  the current run's best parameters so far (early stopping on validation loss).
 *   "GBST"  the best parameters of the restarts finished so far.
 *   "LBLS"  the class label map (nnrt_labels): u32 n (1 ≤ n ≤ n_outputs), then n labels, each
 *           u32 length (1 … NNRT_LABEL_MAX) and its bytes (no NUL), all distinct.
 *   "TSCL"  target scaling learned from the training data (`target_scale`), laid out as SCAL
 *           with n_outputs in place of n_inputs: the network learns t' = (t − offset) ×
 *           multiplier, and its outputs y' are reported as y = y' / multiplier + offset.
 * A checkpoint is therefore an ordinary weights file (the current parameters) with a CKPT
 * trailer: `eval --weights run.ckpt` works on it, and `train --resume` continues it.
 * The shuffle of epoch e of restart r is a pure function of (seed + r, e), so the checkpoint's
 * RNG state is the run seed and the epoch; the step-size schedule's step count is stored.
 * Files are written to `path.tmp`, flushed, fsync'ed and renamed over `path`.
 *
 * Text export (`weights export --format json|csv`): JSON
 *   {"model": "xor", "fingerprint": "0x…", "real_bytes": 8, "n_params": 13, "params": [ … ]}
 * with, for a network that scales its inputs, "scale": {"mode": "zscore"|"minmax"|"factor",
 * "offset": [n_inputs numbers], "multiplier": [n_inputs numbers]} before "params";
 * or CSV rows `index,value` after the header `index,value`, then the scaling as rows
 * `scale,MODE`, `scale.offset[i],A` (i = 0 … n_inputs−1), `scale.multiplier[i],B`. Values print
 * with enough digits to read back bit-exactly. `weights import` reads either form (detected by
 * a leading '{'), scaling included.
 */
#ifndef NNC_NNRT_H
#define NNC_NNRT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nnc/model.h"

#define NNRT_WEIGHTS_VERSION 1

enum nnrt_status {
  NNRT_OK = 0,
  NNRT_EDATA = 1,        /* a bad data or weights file, or data that do not fit the network */
  NNRT_EUSAGE = 2,       /* a bad argument */
  NNRT_ENOMEM = 3,       /* the allocator refused */
  NNRT_EIO = 4,          /* a file could not be opened, read or written */
  NNRT_EDIVERGED = 5,    /* the loss became NaN or infinite; the last good weights are kept */
  NNRT_EINTERRUPTED = 6  /* SIGINT/SIGTERM during training; a checkpoint was written */
};

typedef struct nnrt_error {
  int code;              /* enum nnrt_status */
  char msg[1024];
} nnrt_error;

/* ---- Memory -------------------------------------------------------------------------------
 * One hook with realloc semantics: (ud, NULL, n) allocates, (ud, p, n) resizes, (ud, p, 0)
 * frees and returns NULL. Returning NULL for n > 0 means out of memory. NULL fn restores
 * the C library's allocator. Not thread-safe to change while the library is in use. */
typedef void *(*nnrt_realloc_fn)(void *ud, void *ptr, size_t size);
void nnrt_set_allocator(nnrt_realloc_fn fn, void *ud);

/* ---- Datasets -----------------------------------------------------------------------------
 * A source is described by an nnc_data_source (the same struct the compiler fills in from a
 * `data`/`test` clause). CSV: header row 1/0/-1 (detect: a first row of names only is a
 * header, of numbers only data, a mix is refused); input columns (none listed: every column not a target); target columns (none
 * listed: the last column with onehot, else the last n_outputs columns); onehot: the single
 * target column is a class label, an integer in [0, n_outputs) or any other label through a
 * label map (nnrt_labels, below); targets_inputs: the inputs are the targets too. IDX: `path`
 * the images (any number of dimensions, every type of the format), `labels` the label file
 * (one dimension, integer labels in [0, n_outputs), one-hot encoded). Either may be
 * gzip-compressed. */

enum nnrt_load_flags {
  NNRT_LOAD_INPUTS_ONLY = 1,  /* no targets: predict's input rows */
  NNRT_LOAD_ZERO_BASED = 2    /* class labels must be 0..K−1: no label map is built */
};

/* Class labels that are not the integers 0..K−1 (strings, 1..K): the label of each class,
 * in output order. Built from the training data, sorted (numerically when every label is a
 * number, else by bytes), so the same labels always give the same map; stored with the
 * weights (LBLS section) and used by `predict --class`. */
#define NNRT_LABEL_MAX 64     /* bytes of one label */
typedef struct nnrt_labels {
  int32_t n;
  char **names;
} nnrt_labels;
void nnrt_labels_destroy(nnrt_labels *l);
/* The index of name (a number: of the same value, 2.0 finds 2), or -1. */
int32_t nnrt_labels_find(const nnrt_labels *l, const char *name);

typedef struct nnrt_dataset {
  int64_t n;                  /* samples */
  int32_t n_inputs, n_outputs, real_bytes;
  int32_t onehot;             /* targets are one-hot encoded class labels */
  void *x;                    /* n × n_inputs reals */
  void *t;                    /* n × n_outputs reals; NULL when loaded with INPUTS_ONLY */
  nnrt_labels *labels;        /* the label map built from this data (owned), or NULL: labels 0..K−1 */
} nnrt_dataset;

int nnrt_dataset_load(const nnc_data_source *src, int32_t n_inputs, int32_t n_outputs,
                      int32_t real_bytes, int flags, nnrt_dataset **out, nnrt_error *err);
/* nnrt_dataset_load of data scored against a trained network: class labels (onehot) are read
 * through map (a label not in it is refused: `test.csv:17: field 5: label 'foo' is not one of
 * the 3 classes seen in training`), or, map NULL, must be the integers 0..K−1. */
int nnrt_dataset_load_mapped(const nnc_data_source *src, int32_t n_inputs, int32_t n_outputs,
                             int32_t real_bytes, int flags, const nnrt_labels *map, nnrt_dataset **out,
                             nnrt_error *err);
/* An empty dataset of n samples (x, t zeroed; t omitted with NNRT_LOAD_INPUTS_ONLY). */
int nnrt_dataset_create(int64_t n, int32_t n_inputs, int32_t n_outputs, int32_t real_bytes,
                        int flags, nnrt_dataset **out, nnrt_error *err);
void nnrt_dataset_destroy(nnrt_dataset *d);
/* Reads one input value or target value as a double. */
double nnrt_dataset_input(const nnrt_dataset *d, int64_t sample, int32_t i);
double nnrt_dataset_target(const nnrt_dataset *d, int64_t sample, int32_t o);

/* Input scaling: x' = (x − offset[i]) × mul[i]. Fitted on the training data (z-score: mean
 * and 1/std; min-max: min and 1/(max − min); factor: 0 and the factor; a constant column gets
 * multiplier 1), then applied to every dataset the network sees. */
typedef struct nnrt_scaler {
  int32_t mode;               /* enum nnc_scale */
  int32_t n;                  /* inputs */
  double *offset, *mul;
} nnrt_scaler;

int nnrt_scaler_fit(const nnrt_dataset *d, int32_t mode, double factor, nnrt_scaler **out,
                    nnrt_error *err);
void nnrt_scaler_apply(const nnrt_scaler *s, nnrt_dataset *d);
void nnrt_scaler_destroy(nnrt_scaler *s);

/* ---- Weights ------------------------------------------------------------------------------ */

/* Writes params (n_params reals) and, if scaler is not NULL, its SCAL section. */
int nnrt_weights_save(const char *path, const nnc_model *m, const void *params,
                      const nnrt_scaler *scaler, nnrt_error *err);
/* Checks everything (magic, version, fingerprint, parameter count, precision, checksum,
 * truncation) and fills params; *scaler_out (if not NULL) receives the SCAL section or NULL. */
int nnrt_weights_load(const char *path, const nnc_model *m, void *params,
                      nnrt_scaler **scaler_out, nnrt_error *err);
/* Everything a weights file may carry beside the parameters; NULL: absent. */
typedef struct nnrt_weights_extras {
  nnrt_scaler *scaler;        /* SCAL: the input scaling */
  nnrt_labels *labels;        /* LBLS: the class label map */
  nnrt_scaler *targets;       /* TSCL: the target scaling (n = n_outputs), see target_scale */
} nnrt_weights_extras;
/* nnrt_weights_save and nnrt_weights_load with every section: load fills x (each part owned
 * by the caller, freed by nnrt_weights_extras_clear). */
int nnrt_weights_save_ex(const char *path, const nnc_model *m, const void *params,
                         const nnrt_weights_extras *x, nnrt_error *err);
int nnrt_weights_load_ex(const char *path, const nnc_model *m, void *params, nnrt_weights_extras *x,
                         nnrt_error *err);
void nnrt_weights_extras_clear(nnrt_weights_extras *x);
/* Text forms; format is "json" or "csv". Export writes scaler too (may be NULL); import
 * fills *scaler_out (if not NULL) with the scaling the text gives, or NULL if it gives none.
 * Every scaling read, from a file or a text, is checked: a known mode, n_inputs values,
 * finite offsets and multipliers (z-score and min-max multipliers positive, factor offsets 0). */
int nnrt_weights_export(FILE *out, const nnc_model *m, const void *params, const nnrt_scaler *scaler,
                        const char *format, nnrt_error *err);
int nnrt_weights_import(FILE *in, const char *name, const nnc_model *m, void *params,
                        nnrt_scaler **scaler_out, nnrt_error *err);
/* NNRT_OK if scaler (read from path; NULL: none) is the scaling the network's `scale` setting
 * (m->train->data) declares: the same mode and, for a factor, the same factor. Otherwise the
 * weights were trained on other inputs than the network describes: NNRT_EDATA. */
int nnrt_scaler_matches(const nnrt_scaler *scaler, const nnc_model *m, const char *path, nnrt_error *err);
/* Writes the network of m with params as an ONNX model (operator set 13; docs/onnx.md,
 * "Export") to path, whole or not at all: one input [N, n_inputs] taking raw inputs scaled
 * by scaler (NULL: none), one output [N, n_outputs] in the targets' units when targets (the
 * target scaling, or NULL) is given. Needs the export plan nnc compiles into every model. */
int nnrt_onnx_write(const char *path, const nnc_model *m, const void *params, const nnrt_scaler *scaler,
                    const nnrt_scaler *targets, nnrt_error *err);
/* The same model as bytes in *bytes, from the allocator hook (free() with the default one). */
int nnrt_onnx_model(const nnc_model *m, const void *params, const nnrt_scaler *scaler, const nnrt_scaler *targets,
                    unsigned char **bytes, size_t *len, nnrt_error *err);

/* ---- Metrics ------------------------------------------------------------------------------
 * What a network is scored by (enum nnc_metric), decided by nnrt_metric_resolve when the
 * train block and the command line leave it AUTO: one-hot targets → classification; outputs
 * that are not class scores (m->classifier 0), or targets equal to the inputs (an
 * autoencoder) → regression; otherwise by the targets: all 0 or 1 with one 1 per sample (or a
 * single output) → classification, all 0 or 1 → multi-label, anything else → regression.
 *  - classification: prediction = argmax of the outputs, or output ≥ 0.5 for a single output
 *    (2 classes); accuracy, per-class precision, recall and F1, a confusion matrix;
 *  - multi-label: each output ≥ 0.5 is a label present; exact-match ratio (every label right),
 *    hamming score (the fraction of labels right), per-label precision, recall and F1;
 *  - regression: MSE, RMSE and MAE over all outputs, R² = 1 − SS_res / SS_tot. */
int32_t nnrt_metric_resolve(const nnc_model *m, int32_t metric, const nnrt_dataset *d);
const char *nnrt_metric_name(int32_t metric);

#define NNRT_CONFUSION_MAX 50 /* classes beyond which no confusion matrix is kept */

typedef struct nnrt_metrics {
  int64_t n;
  double loss;                /* mean loss per sample, from the model's loss_grad */
  int32_t classifier;         /* metric is classification */
  double accuracy;            /* classification: fraction right; multi-label: exact-match ratio */
  int32_t n_classes;          /* classes, or labels of a multi-label network */
  int64_t *confusion;         /* n_classes × n_classes, row = true class, column = predicted;
                                 NULL beyond NNRT_CONFUSION_MAX classes */
  double mse, r2;
  int32_t metric;             /* enum nnc_metric, never AUTO */
  double rmse, mae;           /* regression */
  double hamming;             /* multi-label: fraction of labels right */
  int64_t *tp, *fp, *fn;      /* per class or label (with NNRT_EVAL_CONFUSION) */
} nnrt_metrics;

enum nnrt_eval_flags { NNRT_EVAL_NO_LOSS = 1, NNRT_EVAL_CONFUSION = 2 };

/* Scores by the model's metric (m->train->metric, resolved on d). */
int nnrt_evaluate(const nnc_model *m, const void *params, const nnrt_dataset *d, int flags,
                  nnrt_metrics *out, nnrt_error *err);
/* Scores by metric (resolved on d when AUTO). targets (may be NULL): the target scaling d's
 * targets carry; the loss is the trained one, on scaled targets, every other score in the
 * original units (outputs and targets scaled back). */
int nnrt_evaluate_as(const nnc_model *m, const void *params, const nnrt_dataset *d, int32_t metric,
                     const nnrt_scaler *targets, int flags, nnrt_metrics *out, nnrt_error *err);
void nnrt_metrics_clear(nnrt_metrics *mt);
/* Forward pass over a dataset into y (n × n_outputs reals, caller-owned). */
int nnrt_predict(const nnc_model *m, const void *params, const nnrt_dataset *d, void *y,
                 nnrt_error *err);

/* ---- Training ----------------------------------------------------------------------------- */

typedef struct nnrt_train_options {
  nnc_train_settings s;       /* the model's settings with flags applied */
  int32_t threads;            /* ≥ 1 */
  const char *save_path;      /* final weights of a run that succeeded, NULL: do not save;
                                 when every run diverged, a new file SAVE.diverged instead */
  const char *checkpoint_path;/* checkpoints, every N epochs and on interrupt */
  const char *resume_path;    /* a checkpoint (or plain weights) to continue from, or NULL */
  const char *log_path;       /* CSV, one row per epoch, or NULL */
  const char *plot_path;      /* SVG of the kept run's curves, or NULL */
  int32_t verbosity;          /* 0 quiet, 1 restart lines, 2 + one line per epoch */
  int32_t live;               /* 1: redraw a progress line with \r instead of epoch lines */
  FILE *progress;             /* epoch lines and the live line (stderr by default) */
  FILE *report;               /* restart lines (stdout by default) */
  const nnrt_labels *labels;  /* class label map saved with the weights, or NULL */
  const nnrt_scaler *targets; /* the target scaling of the data (saved, scores unscaled), or NULL */
  int32_t train_score;        /* enum nnrt_train_score: which epochs score the training data */
} nnrt_train_options;

/* The training part's score (accuracy, fraction of labels right) of an epoch is a pass over
 * the training data after the epoch; no decision reads it (early stopping and restarts use the
 * validation loss, or the final weights' training loss). SHOWN: the epochs whose line is
 * printed, every epoch when a log or plot is written, and each run's last; EVERY: every epoch;
 * LAST: each run's last epoch only. */
enum nnrt_train_score { NNRT_TRAIN_SCORE_SHOWN = 0, NNRT_TRAIN_SCORE_EVERY = 1, NNRT_TRAIN_SCORE_LAST = 2 };

/* Fills o from the model's settings: threads 1, verbosity 2, no paths, stderr/stdout. */
void nnrt_train_options_init(nnrt_train_options *o, const nnc_model *m);

/* The state stored in a checkpoint's CKPT section. */
typedef struct nnrt_checkpoint_state {
  int64_t restart;            /* index of the run in progress, 0-based */
  int64_t epoch;              /* epochs completed in that run */
  uint64_t run_seed;          /* seed + restart: the run's init and shuffles */
  int64_t steps;              /* schedule count t: samples (batch 1) or steps seen */
  double run_best;            /* best validation loss of this run (early stopping) */
  int64_t bad_epochs;         /* epochs since it improved */
  double global_best;         /* best loss of finished runs, +inf if none */
  int64_t global_best_restart;/* -1 if none */
} nnrt_checkpoint_state;

typedef struct nnrt_train_result {
  int32_t best_restart;       /* 0-based */
  double best_loss;           /* validation loss, or training loss without validation */
  int32_t diverged, interrupted;
  int64_t epochs_run;         /* in the kept run */
  int64_t best_epoch;         /* the epoch whose weights were kept (validation), 0: the last */
  int32_t metric;             /* what train and validation were scored by (never AUTO) */
  int32_t restarts_diverged;  /* runs that diverged (the others go on; diverged is set when all did) */
} nnrt_train_result;

typedef struct nnrt_trainer nnrt_trainer;

/* train: the training data (scaled already); the validation part is split off inside. */
int nnrt_trainer_create(const nnc_model *m, const nnrt_train_options *o,
                        const nnrt_dataset *train, nnrt_trainer **out, nnrt_error *err);
/* Runs every restart; scaler (may be NULL) is stored in the saved files. */
int nnrt_trainer_run(nnrt_trainer *tr, const nnrt_scaler *scaler, nnrt_train_result *res,
                     nnrt_error *err);
/* The kept parameters (n_params reals), valid until destroy. */
const void *nnrt_trainer_params(const nnrt_trainer *tr);
void nnrt_trainer_destroy(nnrt_trainer *tr);

/* Asks a running trainer to checkpoint and stop (what the SIGINT/SIGTERM handler does). */
void nnrt_request_stop(void);

/* ---- Gradient check ----------------------------------------------------------------------
 * Compares loss_grad with central differences (step 1e-3 for f32, 1e-6 for f64) on the first
 * n_samples samples, each sample alone, over at most max_params parameters spread evenly.
 * Relative error |a − n| / max(|a|, |n|, 1e-2); passes below 3e-2 (f32) or 1e-5 (f64). */
typedef struct nnrt_gradcheck_result {
  double worst_rel_error;
  int64_t worst_param, worst_sample, checked;
  double analytic, numeric, tolerance;
  int32_t passed;
} nnrt_gradcheck_result;

int nnrt_gradcheck(const nnc_model *m, const void *params, const nnrt_dataset *d,
                   int64_t n_samples, int64_t max_params, nnrt_gradcheck_result *res,
                   nnrt_error *err);

/* ---- The CPU ----------------------------------------------------------------------------
 * NNRT_OK when this CPU and its operating system offer every x86-64 extension m's code was
 * compiled for (m->x86_features), Linux having granted the AMX tile state where the code uses
 * tiles (asked once per process); otherwise NNRT_EUSAGE naming what is missing. nnrt_main,
 * nnrt_trainer_create, nnrt_predict, nnrt_evaluate(_as) and nnrt_gradcheck check it first. */
int nnrt_cpu_check(const nnc_model *m, nnrt_error *err);

/* ---- Command line ------------------------------------------------------------------------
 * `prog train|eval|predict|info|weights|gradcheck [flags]`; `prog --help`, `prog CMD --help`.
 * Exit codes: 0 ok, 1 bad input data or files (or a failed gradcheck, divergence), 2 bad
 * usage, 130 interrupted (a checkpoint was written). */
int nnrt_main(const nnc_model *m, int argc, char **argv);

#endif
