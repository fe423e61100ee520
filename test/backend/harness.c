/* harness.c — differential test and gradient check of nnc's generated code.
 * Consumes: the table of harness.h (objects compiled by `nnc -c`, linked in) and the .nn files
 * they came from. For every network it runs, through the descriptor NAME_model only:
 *   init     literal initial weights are set exactly; the same seed gives the same params;
 *   forward  64 samples, against the reference interpreter (refinterp.c) in double;
 *   loss_grad  batches of 1, 7 and 64: the summed loss, and the gradient added into a
 *            non-zero grad buffer, against the interpreter;
 *   gradient check  the generated gradient against central finite differences of the
 *            interpreter's loss in double (and the interpreter's own gradient against them);
 *   train_step  batches of 1, 7 and 64 with momentum 0 and 0.9: the parameters and velocity
 *            after one step, and the loss it returns.
 * Usage: backend_harness [-v] [--unnormalised-targets] [--empty-batch]
 * [NAME|PREFIX*...]; exit status 0 when every check passes. The two options select the checks
 * of known bugs (Inputs/).
 *
 * Error measure. A generated vector a is compared with the reference b component-wise as
 *     |a_i − b_i| ≤ rtol · (|b_i| + S) + atol,   S = max_j |b_j|   (S = |b| for a scalar),
 * i.e. relative to the component or to the vector's own scale, whichever is larger: sums
 * that cancel (gradients summed over a batch, small outputs) carry rounding error
 * proportional to the size of their terms, not to their result. The figure reported as
 * "worst" is max |a_i − b_i| / (|b_i| + S).
 *
 * Tolerances, from measurement (the run prints the worst figures; at the time of writing,
 * over 60 grid and 200 random networks, 118 f32 and 142 f64):
 *   f64 vs interpreter   rtol 1e-10. The generated exp/log/tanh are inline approximations
 *                        (a few ulp; tanh's small-argument series is good to ~1e-11), sums
 *                        are reassociated and contracted to FMA. Measured worst: forward
 *                        7.8e-13, loss 1.8e-14, gradient 1.3e-13, train_step 1.2e-13.
 *   f32 vs interpreter   rtol 1e-5, atol 1e-6 (ten times tighter than the 1e-4 /
 *                        1e-5, still ~14x the worst measured). The interpreter runs in double
 *                        on the same float parameters and inputs, so the difference is the
 *                        f32 arithmetic alone: ~20 roundings of 6e-8 through a few layers.
 *                        Measured worst: forward 2.2e-7, loss 3.5e-7, gradient 2.3e-7,
 *                        generated vs FD 7.3e-7, train_step 2.6e-7.
 *   finite differences   h = 1e-5·max(1, |p|) (central, double, on the interpreter's loss):
 *                        truncation ~h²·L''' ≈ 1e-10, rounding ~1e-16·L/h ≈ 1e-11·L. rtol 1e-6
 *                        for the interpreter's and f64 gradients (measured 6.7e-9), the f32
 *                        tolerance for f32 gradients. A parameter whose one-sided
 *                        differences disagree (its FD straddles a relu/leaky_relu kink or a
 *                        step threshold) is skipped and counted (6 of 61035 at writing).
 *   train_step           the step Δ = p' − p against −rate·g/n (or the momentum update) with
 *                        the gradient's rtol, plus 2 ulp of p' for storing p' in the real type.
 * Samples are drawn so that no relu, leaky_relu or step unit sits within a relative margin of
 * its kink (1e-4 for f32, 1e-9 for f64): there f32 and double may take different branches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "harness.h"
#include "ir.h"
#include "refinterp.h"

enum { MAX_BATCH = 64 };
enum { K_INIT, K_FORWARD, K_LOSS, K_GRAD, K_FD_REF, K_FD_GEN, K_STEP, K_COUNT };
static const char *const kind_names[K_COUNT] = {"init", "forward", "loss", "gradient", "interp vs FD",
                                                "generated vs FD", "train_step"};

typedef struct Tol {
  double rtol, atol;
} Tol;

/* Per precision (0: f32, 1: f64): tolerances and what was measured. */
typedef struct PrecStats {
  const char *name;
  Tol tol[K_COUNT];
  double margin;        /* kink margin of the samples */
  double eps;           /* unit roundoff of the real type */
  long checks[K_COUNT], fails[K_COUNT];
  double worst[K_COUNT];
  const char *worst_case[K_COUNT];
  long fd_skipped, networks;
} PrecStats;

static PrecStats stats[2] = {
    {"f32",
     {{0, 0}, {1e-5, 1e-6}, {1e-5, 1e-6}, {1e-5, 1e-6}, {1e-6, 1e-9}, {1e-5, 1e-6}, {1e-5, 1e-6}},
     1e-4, 0x1p-24, {0}, {0}, {0}, {0}, 0, 0},
    {"f64",
     {{0, 0}, {1e-10, 1e-14}, {1e-10, 1e-14}, {1e-10, 1e-14}, {1e-6, 1e-9}, {1e-6, 1e-9}, {1e-10, 1e-14}},
     1e-9, 0x1p-53, {0}, {0}, {0}, {0}, 0, 0},
};

static int verbose;
static int unnormalised_targets; /* --unnormalised-targets: softmax targets need not sum to 1 */
static int empty_batch;          /* --empty-batch: check only train_step with n = 0 */
static const char *current;  /* name of the network being checked */
static int case_failures;

/* --- random numbers ---------------------------------------------------------------------- */

static uint64_t rng_state;

static double urand(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(rng_state >> 11) * 0x1p-53;
}

static double uniform(double a, double b) { return a + (b - a) * urand(); }

/* --- reals of the model's precision ------------------------------------------------------ */

typedef struct Model {
  const nnc_model *m;
  int real_bytes;
  PrecStats *ps;
} Model;

static void *real_alloc(const Model *md, int64_t n) { return calloc((size_t)(n > 0 ? n : 1), (size_t)md->real_bytes); }

static double real_get(const Model *md, const void *buf, int64_t i) {
  return md->real_bytes == 8 ? ((const double *)buf)[i] : (double)((const float *)buf)[i];
}

static void real_set(const Model *md, void *buf, int64_t i, double v) {
  if (md->real_bytes == 8) ((double *)buf)[i] = v;
  else ((float *)buf)[i] = (float)v;
}

static void to_real(const Model *md, void *dst, const double *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) real_set(md, dst, i, src[i]);
}

static void to_double(const Model *md, double *dst, const void *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = real_get(md, src, i);
}

/* --- comparison ---------------------------------------------------------------------------- */

static void note_worst(PrecStats *ps, int kind, double e) {
  if (e > ps->worst[kind]) {
    ps->worst[kind] = e;
    ps->worst_case[kind] = current;
  }
}

/* Compares a against the reference b (n values) as the header comment says. extra[i], if
 * given, is an additional absolute allowance for component i. Returns the failures. */
static int compare(PrecStats *ps, int kind, const char *what, const double *a, const double *b,
                   const double *extra, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s = fmax(s, fabs(b[i]));
  const Tol *t = &ps->tol[kind];
  int bad = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs(a[i] - b[i]), allow = t->rtol * (fabs(b[i]) + s) + t->atol + (extra ? extra[i] : 0);
    double e = d / (fabs(b[i]) + s + 1e-300);
    ps->checks[kind]++;
    if (!(d <= allow)) {
      ps->fails[kind]++;
      if (bad++ < 3)
        fprintf(stderr, "FAIL %s: %s [%lld]: generated %.17g, expected %.17g (diff %.3g, allowed %.3g)\n",
                current, what, (long long)i, a[i], b[i], d, allow);
    } else {
      note_worst(ps, kind, extra ? 0 : e);
    }
    if (extra && d <= allow) note_worst(ps, kind, fmax(0, d - extra[i]) / (fabs(b[i]) + s + 1e-300));
  }
  case_failures += bad;
  return bad;
}

/* --- the network: parse it again and build the interpreter --------------------------------- */

typedef struct Front {
  Arena arena;
  char *text;
  Source src;
  IrNetwork *net;
} Front;

static int load_network(Front *f, const char *path) {
  memset(f, 0, sizeof *f);
  FILE *fp = fopen(path, "rb");
  if (!fp) return fprintf(stderr, "FAIL %s: cannot open %s\n", current, path), 0;
  fseek(fp, 0, SEEK_END);
  long len = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  f->text = calloc((size_t)len + 1, 1);
  size_t got = fread(f->text, 1, (size_t)len, fp);
  fclose(fp);
  f->src.path = path;
  f->src.text = f->text;
  f->src.len = got;
  Diag diag;
  diag_init(&diag, &f->src, stderr);
  AstFile *ast = ast_parse(&f->src, &f->arena, &diag);
  f->net = diag.errors ? NULL : sema_check(ast, path, &f->arena, &diag);
  if (!f->net) fprintf(stderr, "FAIL %s: %s does not check\n", current, path);
  return f->net != NULL;
}

static void free_network(Front *f) {
  arena_free(&f->arena);
  free(f->text);
}

/* --- data ------------------------------------------------------------------------------------ */

/* Targets of one sample: squared error: anything; cross-entropy: a probability per sigmoid
 * output, a distribution over each softmax group (the y − t form of ∂L/∂z assumes Σt = 1). */
static void draw_targets(RefNet *r, double *t) {
  int no = ref_n_outputs(r);
  for (int k = 0; k < no; k++) t[k] = ref_loss_kind(r) == NNC_LOSS_SQUARED ? uniform(-1, 1) : uniform(0.05, 0.95);
  for (int k = 0; k < no && !unnormalised_targets;) {
    int first, size;
    if (!ref_softmax_group_of(r, k, &first, &size)) {
      k++;
      continue;
    }
    double sum = 0;
    for (int j = 0; j < size; j++) sum += t[first + j];
    for (int j = 0; j < size; j++) t[first + j] /= sum;
    k = first + size;
  }
}

/* Inputs in [−1, 1], each sample redrawn until no unit sits near its kink. */
static void draw_samples(const Model *md, RefNet *r, const double *p, double *x, double *t) {
  int ni = ref_n_inputs(r), no = ref_n_outputs(r);
  for (int s = 0; s < MAX_BATCH; s++) {
    double *xs = x + (int64_t)s * ni;
    for (int tries = 0; tries < 1000; tries++) {
      for (int i = 0; i < ni; i++) xs[i] = uniform(-1, 1);
      if (md->real_bytes == 4)
        for (int i = 0; i < ni; i++) xs[i] = (float)xs[i];
      if (ref_kink_margin(r, p, xs) >= md->ps->margin) break;
    }
    draw_targets(r, t + (int64_t)s * no);
    if (md->real_bytes == 4)
      for (int k = 0; k < no; k++) t[s * no + k] = (float)t[s * no + k];
  }
}

/* --- the checks ------------------------------------------------------------------------------ */

static void *scratch_for(const Model *md, int64_t n) {
  size_t bytes = (size_t)(md->m->scratch_fixed + n * md->m->scratch_per_sample);
  bytes = (bytes + 63) & ~(size_t)63;
  void *s = aligned_alloc(64, bytes ? bytes : 64);
  memset(s, 0xA5, bytes ? bytes : 64); /* garbage: the model must not read what it did not write */
  return s;
}

/* init: literal initial weights exactly, deterministic in the seed. */
static void check_init(const Model *md, RefNet *r, void *params) {
  int64_t np = md->m->n_params;
  void *again = real_alloc(md, np);
  md->m->init(params, 42);
  md->m->init(again, 42);
  PrecStats *ps = md->ps;
  for (int64_t i = 0; i < np; i++) {
    double lit = ref_initial_value(r, i), v = real_get(md, params, i);
    ps->checks[K_INIT]++;
    int bad = real_get(md, again, i) != v || !isfinite(v);
    if (!isnan(lit)) bad |= md->real_bytes == 8 ? v != lit : (float)v != (float)lit;
    if (bad) {
      ps->fails[K_INIT]++;
      case_failures++;
      fprintf(stderr, "FAIL %s: init param %lld = %.17g (literal %g)\n", current, (long long)i, v, lit);
    }
  }
  free(again);
}

static void check_forward(const Model *md, RefNet *r, const void *params, const double *p, const double *x) {
  int64_t ni = md->m->n_inputs, no = md->m->n_outputs, n = MAX_BATCH;
  void *xr = real_alloc(md, n * ni), *yr = real_alloc(md, n * no), *scratch = scratch_for(md, n);
  double *y = calloc((size_t)(n * no), sizeof(double)), *yref = calloc((size_t)(n * no), sizeof(double));
  to_real(md, xr, x, n * ni);
  md->m->forward(params, n, xr, yr, scratch);
  to_double(md, y, yr, n * no);
  ref_forward(r, p, n, x, yref);
  compare(md->ps, K_FORWARD, "forward y", y, yref, NULL, n * no);
  free(xr), free(yr), free(scratch), free(y), free(yref);
}

/* Indices of the parameters to difference: all of them, or an even spread of `cap`. */
static int64_t fd_params(int64_t np, int64_t cap, int64_t *idx) {
  if (np <= cap) {
    for (int64_t i = 0; i < np; i++) idx[i] = i;
    return np;
  }
  for (int64_t i = 0; i < cap; i++) idx[i] = (int64_t)(urand() * (double)np);
  return cap;
}

/* Central finite differences of the interpreter's loss at p for the chosen parameters;
 * ok[i] = 0 where the one-sided differences disagree (a kink or step inside [p−h, p+h]). */
static void finite_differences(RefNet *r, double *p, int64_t n, const double *x, const double *t,
                               const int64_t *idx, int64_t m, double *fd, int *ok) {
  double l0 = ref_loss_grad(r, p, n, x, t, NULL), scale = 0;
  double *fwd = calloc((size_t)m, sizeof(double)), *bwd = calloc((size_t)m, sizeof(double));
  for (int64_t k = 0; k < m; k++) {
    double saved = p[idx[k]], h = 1e-5 * fmax(1, fabs(saved));
    p[idx[k]] = saved + h;
    double lp = ref_loss_grad(r, p, n, x, t, NULL);
    p[idx[k]] = saved - h;
    double lm = ref_loss_grad(r, p, n, x, t, NULL);
    p[idx[k]] = saved;
    fd[k] = (lp - lm) / (2 * h);
    fwd[k] = (lp - l0) / h;
    bwd[k] = (l0 - lm) / h;
    scale = fmax(scale, fabs(fd[k]));
  }
  for (int64_t k = 0; k < m; k++)
    ok[k] = fabs(fwd[k] - bwd[k]) <= 1e-3 * (fabs(fwd[k]) + fabs(bwd[k]) + scale) + 1e-9;
  free(fwd);
  free(bwd);
}

/* Gradient check: FD against the interpreter's gradient and the generated one. */
static void check_fd(const Model *md, RefNet *r, double *p, int64_t n, const double *x, const double *t,
                     const double *gen, const double *ref, int64_t fd_cap) {
  int64_t np = md->m->n_params;
  int64_t *idx = calloc((size_t)np + 1, sizeof(int64_t));
  int64_t m = fd_params(np, fd_cap, idx), kept = 0;
  double *fd = calloc((size_t)m + 1, sizeof(double)), *a = calloc((size_t)m + 1, sizeof(double)),
         *b = calloc((size_t)m + 1, sizeof(double)), *c = calloc((size_t)m + 1, sizeof(double));
  int *ok = calloc((size_t)m + 1, sizeof(int));
  finite_differences(r, p, n, x, t, idx, m, fd, ok);
  for (int64_t k = 0; k < m; k++) {
    if (!ok[k]) {
      md->ps->fd_skipped++;
      continue;
    }
    a[kept] = ref[idx[k]], b[kept] = fd[k], c[kept] = gen[idx[k]];
    kept++;
  }
  char what[64];
  snprintf(what, sizeof what, "interpreter gradient vs FD, n=%lld", (long long)n);
  compare(md->ps, K_FD_REF, what, a, b, NULL, kept);
  snprintf(what, sizeof what, "generated gradient vs FD, n=%lld", (long long)n);
  compare(md->ps, K_FD_GEN, what, c, b, NULL, kept);
  free(idx), free(fd), free(a), free(b), free(c), free(ok);
}

/* loss_grad on the first n samples: the loss, and the gradient it adds into grad. */
static void check_loss_grad(const Model *md, RefNet *r, const void *params, double *p, int64_t n,
                            const double *x, const double *t, int64_t fd_cap) {
  int64_t np = md->m->n_params, ni = md->m->n_inputs, no = md->m->n_outputs;
  void *xr = real_alloc(md, n * ni), *tr = real_alloc(md, n * no), *gr = real_alloc(md, np), *scratch = scratch_for(md, n);
  double *g0 = calloc((size_t)np + 1, sizeof(double)), *gen = calloc((size_t)np + 1, sizeof(double)),
         *ref = calloc((size_t)np + 1, sizeof(double));
  to_real(md, xr, x, n * ni);
  to_real(md, tr, t, n * no);
  for (int64_t i = 0; i < np; i++) real_set(md, gr, i, uniform(-1, 1)), g0[i] = real_get(md, gr, i);
  double loss = md->m->loss_grad(params, n, xr, tr, gr, scratch);
  for (int64_t i = 0; i < np; i++) gen[i] = real_get(md, gr, i) - g0[i];
  double lref = ref_loss_grad(r, p, n, x, t, ref);
  char what[64];
  snprintf(what, sizeof what, "loss_grad loss, n=%lld", (long long)n);
  compare(md->ps, K_LOSS, what, &loss, &lref, NULL, 1);
  /* gen = (g0 + g) − g0 carries the rounding of the sum, up to 1 ulp of |g0 + g|. */
  double *extra = calloc((size_t)np + 1, sizeof(double));
  for (int64_t i = 0; i < np; i++) extra[i] = 2 * md->ps->eps * (fabs(g0[i]) + fabs(gen[i]));
  snprintf(what, sizeof what, "loss_grad gradient, n=%lld", (long long)n);
  compare(md->ps, K_GRAD, what, gen, ref, extra, np);
  check_fd(md, r, p, n, x, t, gen, ref, fd_cap);
  free(xr), free(tr), free(gr), free(scratch), free(g0), free(gen), free(ref), free(extra);
}

/* One train_step on the first n samples with momentum m. */
static void check_train_step(const Model *md, RefNet *r, const void *params, const double *p, int64_t n,
                             double momentum, const double *x, const double *t) {
  int64_t np = md->m->n_params, ni = md->m->n_inputs, no = md->m->n_outputs;
  const double rate = 0.1;
  void *pr = real_alloc(md, np), *vr = real_alloc(md, np), *xr = real_alloc(md, n * ni), *tr = real_alloc(md, n * no);
  void *scratch = scratch_for(md, n);
  double *g = calloc((size_t)np + 1, sizeof(double)), *v0 = calloc((size_t)np + 1, sizeof(double));
  double *dgen = calloc((size_t)np + 1, sizeof(double)), *dref = calloc((size_t)np + 1, sizeof(double));
  double *extra = calloc((size_t)np + 1, sizeof(double)), *vgen = calloc((size_t)np + 1, sizeof(double));
  double *vref = calloc((size_t)np + 1, sizeof(double));
  memcpy(pr, params, (size_t)(np * md->real_bytes));
  for (int64_t i = 0; i < np; i++) real_set(md, vr, i, uniform(-0.01, 0.01)), v0[i] = real_get(md, vr, i);
  to_real(md, xr, x, n * ni);
  to_real(md, tr, t, n * no);
  double loss = md->m->train_step(pr, vr, n, xr, tr, rate, momentum, scratch);
  double lref = ref_loss_grad(r, p, n, x, t, g);
  for (int64_t i = 0; i < np; i++) {
    double step = momentum != 0 ? momentum * v0[i] - rate * g[i] / (double)n : -rate * g[i] / (double)n;
    double after = real_get(md, pr, i);
    dgen[i] = after - p[i];
    dref[i] = step;
    extra[i] = 2 * md->ps->eps * (fabs(after) + fabs(p[i]));
    vgen[i] = real_get(md, vr, i);
    vref[i] = step;
  }
  char what[96];
  snprintf(what, sizeof what, "train_step loss, n=%lld, momentum %g", (long long)n, momentum);
  compare(md->ps, K_LOSS, what, &loss, &lref, NULL, 1);
  snprintf(what, sizeof what, "train_step parameter change, n=%lld, momentum %g", (long long)n, momentum);
  compare(md->ps, K_STEP, what, dgen, dref, extra, np);
  if (momentum != 0) {
    snprintf(what, sizeof what, "train_step velocity, n=%lld, momentum %g", (long long)n, momentum);
    compare(md->ps, K_STEP, what, vgen, vref, NULL, np);
  }
  free(pr), free(vr), free(xr), free(tr), free(scratch), free(g), free(v0), free(dgen), free(dref);
  free(extra), free(vgen), free(vref);
}

/* train_step on an empty batch must leave the parameters as they are and return 0. */
static void check_empty_batch(const Model *md, const void *params) {
  int64_t np = md->m->n_params;
  void *pr = real_alloc(md, np), *vr = real_alloc(md, np), *scratch = scratch_for(md, 0);
  double *before = calloc((size_t)np + 1, sizeof(double)), *after = calloc((size_t)np + 1, sizeof(double));
  memcpy(pr, params, (size_t)(np * md->real_bytes));
  to_double(md, before, pr, np);
  double zero = 0, loss = md->m->train_step(pr, vr, 0, NULL, NULL, 0.1, 0.0, scratch);
  to_double(md, after, pr, np);
  compare(md->ps, K_LOSS, "train_step loss, n=0", &loss, &zero, NULL, 1);
  compare(md->ps, K_STEP, "train_step parameters after n=0", after, before, NULL, np);
  free(pr), free(vr), free(scratch), free(before), free(after);
}

/* Forward, loss_grad with its gradient check, and train_step, at the initial parameters. */
static void check_numerics(const Model *md, RefNet *r, const void *params, double *p, const char *name) {
  int64_t np = md->m->n_params;
  double *x = calloc((size_t)(MAX_BATCH * md->m->n_inputs), sizeof(double));
  double *t = calloc((size_t)(MAX_BATCH * md->m->n_outputs), sizeof(double));
  draw_samples(md, r, p, x, t);
  check_forward(md, r, params, p, x);
  static const int64_t batches[] = {1, 7, MAX_BATCH};
  int64_t fd_cap = strncmp(name, "grid", 4) == 0 ? np : 96; /* the grid: every parameter */
  for (int b = 0; b < 3; b++) {
    check_loss_grad(md, r, params, p, batches[b], x, t, fd_cap);
    check_train_step(md, r, params, p, batches[b], 0.0, x, t);
    check_train_step(md, r, params, p, batches[b], 0.9, x, t);
  }
  free(x), free(t);
}

/* --- one network ---------------------------------------------------------------------------- */

static int check_descriptor(const Model *md, const IrNetwork *n) {
  const nnc_model *m = md->m;
  if (m->abi_version == NNC_ABI_VERSION && m->n_inputs == n->n_inputs && m->n_outputs == n->n_outputs &&
      m->n_params == n->n_params && m->real_bytes == n->real_bytes && strcmp(m->name, n->name) == 0)
    return 1;
  fprintf(stderr, "FAIL %s: the descriptor does not match the IR (%d/%d inputs, %d/%d outputs, %lld/%lld params)\n",
          current, m->n_inputs, n->n_inputs, m->n_outputs, n->n_outputs, (long long)m->n_params,
          (long long)n->n_params);
  case_failures++;
  return 0;
}

static void check_case(const BackendCase *c, uint64_t seed) {
  current = c->name;
  case_failures = 0;
  Front front;
  if (!load_network(&front, c->path)) {
    case_failures++;
    return;
  }
  Model md = {c->model, c->model->real_bytes, &stats[c->model->real_bytes == 8]};
  md.ps->networks++;
  if (check_descriptor(&md, front.net)) {
    RefNet *r = ref_build(front.net);
    int64_t np = md.m->n_params;
    void *params = real_alloc(&md, np);
    double *p = calloc((size_t)np + 1, sizeof(double));
    rng_state = seed;
    check_init(&md, r, params);
    to_double(&md, p, params, np);
    if (empty_batch) check_empty_batch(&md, params);
    else check_numerics(&md, r, params, p, c->name);
    free(params), free(p);
    ref_free(r);
  }
  free_network(&front);
  if (verbose || case_failures) printf("%-28s %s %s\n", c->name, md.ps->name, case_failures ? "FAILED" : "ok");
}

static void report(void) {
  for (int pi = 0; pi < 2; pi++) {
    PrecStats *ps = &stats[pi];
    if (!ps->networks) continue;
    printf("%s: %ld networks, %ld parameters skipped by the FD kink test\n", ps->name, ps->networks, ps->fd_skipped);
    for (int k = 0; k < K_COUNT; k++)
      printf("  %-16s %9ld checks %5ld failed  worst %.3g (rtol %g)%s%s\n", kind_names[k], ps->checks[k],
             ps->fails[k], ps->worst[k], ps->tol[k].rtol, ps->worst_case[k] ? " in " : "",
             ps->worst_case[k] ? ps->worst_case[k] : "");
  }
}

/* NAME, or PREFIX* for every network whose name starts with PREFIX. */
static int name_matches(const char *pattern, const char *name) {
  size_t n = strlen(pattern);
  if (n > 0 && pattern[n - 1] == '*') return strncmp(pattern, name, n - 1) == 0;
  return strcmp(pattern, name) == 0;
}

int main(int argc, char **argv) {
  int first = 1;
  for (; first < argc && argv[first][0] == '-'; first++) {
    if (strcmp(argv[first], "-v") == 0) verbose = 1;
    else if (strcmp(argv[first], "--unnormalised-targets") == 0) unnormalised_targets = 1;
    else if (strcmp(argv[first], "--empty-batch") == 0) empty_batch = 1;
    else return fprintf(stderr, "usage: %s [-v] [--unnormalised-targets] [--empty-batch] [NAME...]\n", argv[0]), 2;
  }
  int failed = 0, run = 0;
  for (int i = 0; i < backend_n_cases; i++) {
    int wanted = first >= argc;
    for (int a = first; a < argc; a++) wanted |= name_matches(argv[a], backend_cases[i].name);
    if (!wanted) continue;
    check_case(&backend_cases[i], 0x9E3779B97F4A7C15ull ^ (uint64_t)(i + 1));
    failed += case_failures != 0;
    run++;
  }
  report();
  printf("%d networks checked, %d failed\n", run, failed);
  return failed != 0 || run == 0;
}
