/* runtime/cli.h — the command line of generated executables, shared by cli.c (flags,
 * dispatch) and commands.c (what each subcommand does). Private to libnnrt.
 */
#ifndef NNRT_CLI_H
#define NNRT_CLI_H

#include "internal.h"

enum cli_command {
  CMD_TRAIN = 1, CMD_EVAL = 2, CMD_PREDICT = 4, CMD_INFO = 8, CMD_WEIGHTS = 16, CMD_GRADCHECK = 32
};

typedef struct nnrt_cli {
  const nnc_model *m;
  const char *prog;
  int cmd;                      /* enum cli_command */
  const char *cmd_name;
  const char *action;           /* weights: export | import */
  nnrt_train_options o;         /* o.s: the model's settings with flags applied */
  nnc_data_source data, test;   /* copies the flags edit */
  int32_t *in_cols, *tg_cols;   /* --inputs / --targets lists (owned) */
  int32_t n_in_cols, n_tg_cols;
  int inputs_given, targets_given, onehot_given;
  const char *weights, *input, *format, *labels, *test_labels;
  const char *onnx;             /* weights export --onnx FILE */
  int64_t samples;
  int quiet, print_class, print_proba, seed_given;
  int delimiter_given;
  int32_t delimiter;            /* --delimiter: the byte between CSV fields */
  int shuffle_flags;            /* 1: --shuffle given, 2: --no-shuffle given */
  int initial;                  /* --initial: init(seed) instead of a weights file */
  int optimizer;                /* --optimizer: enum nnc_optimizer, -1: not given */
  unsigned optim_given;         /* bit i: optimizer flag i of cli.c given, its value in optim */
  nnc_train_settings optim;     /* the values of the optimizer flags given */
  int batch_given;              /* --batch given: kept when --optimizer changes the batch */
  int schedule;                 /* --schedule: enum nnc_decay, -1: not given */
  unsigned sched_given;         /* bit i: schedule flag i of cli.c given, its value in sched */
  nnc_train_settings sched;     /* the values of the schedule flags given */
} nnrt_cli;

/* commands.c: each returns an enum nnrt_status and has printed its own output. */
int nnrt__cmd_train(nnrt_cli *c, nnrt_error *err);
int nnrt__cmd_eval(nnrt_cli *c, nnrt_error *err);
int nnrt__cmd_predict(nnrt_cli *c, nnrt_error *err);
int nnrt__cmd_info(nnrt_cli *c, nnrt_error *err);
int nnrt__cmd_weights(nnrt_cli *c, nnrt_error *err);
int nnrt__cmd_gradcheck(nnrt_cli *c, nnrt_error *err);

#endif
