/* embed.c — using networks compiled by nnc from a C program, without the generated CLI.
 *
 * Part 1, inference with weights compiled in: xor_trained.o comes from
 *     nnc --weights xor.weights -c xor.nn -o xor_trained.o --header xor_trained.h
 * Its forward pass ignores the params argument; it computes the four rows of XOR.
 *
 * Part 2, training through the runtime API (nnc/nnrt.h): iris.o is an ordinary model object
 * (nnc -c iris.nn); the program loads the data its train block names (or argv[1]), fits the
 * input scaling, trains with the .nn file's settings, saves iris.weights, loads them back and
 * classifies one flower with the generated iris_forward.
 *
 * Exit status 0 when XOR is computed exactly and the trained iris classifier is at least 90 %
 * right on its training data; 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nnc/nnrt.h>

#include "iris.h"
#include "xor_trained.h"

/* Scratch buffers must be 64-byte aligned and a multiple of 64 bytes for aligned_alloc. */
static void *scratch_alloc(int64_t bytes) {
  return aligned_alloc(64, (size_t)((bytes + 63) / 64 * 64));
}

/* ---- part 1: inference with embedded weights ---------------------------------------- */

static int run_xor(void) {
  const xor_real x[4][XOR_N_INPUTS] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  xor_real y[4][XOR_N_OUTPUTS];
  void *scratch = scratch_alloc(XOR_SCRATCH_BYTES(4));
  int wrong = 0;
  if (!scratch)
    return 1;
  xor_forward(NULL, 4, &x[0][0], &y[0][0], scratch);  /* NULL: the compiled-in weights */
  for (int i = 0; i < 4; i++) {
    int expected = (int)x[i][0] ^ (int)x[i][1], got = y[i][0] >= 0.5f;
    printf("xor(%g, %g) = %.4f -> %d%s\n", x[i][0], x[i][1], y[i][0], got, got == expected ? "" : "  WRONG");
    wrong += got != expected;
  }
  free(scratch);
  return wrong != 0;
}

/* ---- part 2: training through the runtime API ---------------------------------------- */

static int fail(const char *what, const nnrt_error *err) {
  fprintf(stderr, "embed: %s: %s\n", what, err->msg);
  return 1;
}

/* Loads the training data and scales the inputs as the train block says. */
static int load_iris(const char *path, nnrt_dataset **d, nnrt_scaler **sc, nnrt_error *err) {
  nnc_data_source src = iris_model.train->data;
  if (path)
    src.path = path;
  *sc = NULL;
  if (nnrt_dataset_load(&src, IRIS_N_INPUTS, IRIS_N_OUTPUTS, IRIS_PRECISION, 0, d, err) != NNRT_OK)
    return 1;
  if (src.scale != NNC_SCALE_NONE) {
    if (nnrt_scaler_fit(*d, src.scale, src.scale_factor, sc, err) != NNRT_OK)
      return 1;
    nnrt_scaler_apply(*sc, *d);
  }
  printf("iris: %lld flowers from %s\n", (long long)(*d)->n, src.path);
  return 0;
}

/* Trains with the .nn file's settings (restarts, validation, schedule) and saves the kept run. */
static int train_iris(const nnrt_dataset *d, const nnrt_scaler *sc, const char *save, nnrt_error *err) {
  nnrt_train_options o;
  nnrt_trainer *tr = NULL;
  nnrt_train_result res;
  nnrt_train_options_init(&o, &iris_model);
  o.save_path = save;
  o.verbosity = 1;  /* one line per restart, no epoch lines */
  int rc = nnrt_trainer_create(&iris_model, &o, d, &tr, err);
  if (rc == NNRT_OK)
    rc = nnrt_trainer_run(tr, sc, &res, err);
  if (rc == NNRT_OK)
    printf("iris: kept restart %d, loss %.4g; weights saved to %s\n", res.best_restart + 1, res.best_loss, save);
  nnrt_trainer_destroy(tr);
  return rc != NNRT_OK;
}

/* Loads the saved weights (with their input scaling), scores them and classifies one flower. */
static int use_iris(const nnrt_dataset *d, const char *path, nnrt_error *err) {
  static const char *species[IRIS_N_OUTPUTS] = {"setosa", "versicolor", "virginica"};
  iris_real *params = malloc(sizeof(iris_real) * IRIS_N_PARAMS), x[IRIS_N_INPUTS], y[IRIS_N_OUTPUTS];
  const double flower[IRIS_N_INPUTS] = {6.7, 3.0, 5.2, 2.3};  /* a virginica, in cm */
  nnrt_scaler *sc = NULL;
  nnrt_metrics mt;
  void *scratch = scratch_alloc(IRIS_SCRATCH_BYTES(1));
  int bad = 1;
  if (params && scratch && nnrt_weights_load(path, &iris_model, params, &sc, err) == NNRT_OK &&
      nnrt_evaluate(&iris_model, params, d, 0, &mt, err) == NNRT_OK) {
    printf("iris: training accuracy %.2f%% (%lld flowers)\n", 100 * mt.accuracy, (long long)mt.n);
    for (int i = 0; i < IRIS_N_INPUTS; i++)  /* the scaling the weights were trained with */
      x[i] = (iris_real)(sc ? (flower[i] - sc->offset[i]) * sc->mul[i] : flower[i]);
    iris_forward(params, 1, x, y, scratch);
    int best = 0;
    for (int k = 1; k < IRIS_N_OUTPUTS; k++)
      best = y[k] > y[best] ? k : best;
    printf("iris: (6.7, 3.0, 5.2, 2.3) is %s (p = %.3f)\n", species[best], y[best]);
    bad = mt.accuracy < 0.90 || best != 2;
    nnrt_metrics_clear(&mt);
  } else if (params && scratch) {
    fail("using iris.weights", err);
  }
  nnrt_scaler_destroy(sc);
  free(scratch);
  free(params);
  return bad;
}

static int run_iris(const char *data) {
  nnrt_error err;
  nnrt_dataset *d = NULL;
  nnrt_scaler *sc = NULL;
  int bad = load_iris(data, &d, &sc, &err) ? fail("loading the data", &err)
          : train_iris(d, sc, "iris.weights", &err) ? fail("training", &err)
          : use_iris(d, "iris.weights", &err);
  nnrt_scaler_destroy(sc);
  nnrt_dataset_destroy(d);
  return bad;
}

int main(int argc, char **argv) {
  if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
    fprintf(stderr, "usage: %s [IRIS.csv]\n", argv[0]);
    return 2;
  }
  int bad = run_xor();
  bad |= run_iris(argc == 2 ? argv[1] : NULL);
  puts(bad ? "embed: FAILED" : "embed: ok");
  return bad;
}
