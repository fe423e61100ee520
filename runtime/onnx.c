/* onnx.c — a network and its weights as an ONNX model (operator set 13).
 * Consumes the model's export plan (nnc_model.onnx_plan, the network's groups and edge sets,
 * written by the compiler from its IR), the parameters, and the input and target scaling;
 * produces ONNX's ModelProto, its protobuf written by hand (varints and length-delimited
 * fields numbered as in onnx.proto), saved through the one write path (files.c). The
 * executable's `weights export --onnx` and the compiler's `nnc --emit-onnx` both call
 * nnrt_onnx_write. The graph (docs/onnx.md, "Export"): one input [N, n_inputs], the input
 * scaling as Cast/Sub/Mul in double, per group one Gemm per incoming edge set (its weights a
 * [size, width] matrix, the bias the first Gemm's C) summed by Add, then the activation's
 * operator; the output groups concatenated, the target scaling undone in double. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

enum { ONNX_OPSET = 13, ONNX_IR_VERSION = 7 };
enum { ONNX_FLOAT = 1, ONNX_BOOL = 9, ONNX_DOUBLE = 11 };         /* TensorProto.DataType */
enum { ATTR_FLOAT = 1, ATTR_INT = 2 };                            /* AttributeProto.AttributeType */
enum { PLAN_INPUT = 0, PLAN_BIAS = 1, PLAN_HIDDEN = 2, PLAN_OUTPUT = 3 };
enum { PLAN_DENSE = 0, PLAN_ONE = 1 };
enum { PLAN_ACT_IDENTITY, PLAN_ACT_SIGMOID, PLAN_ACT_RELU, PLAN_ACT_TANH, PLAN_ACT_LEAKY_RELU,
       PLAN_ACT_SOFTPLUS, PLAN_ACT_SOFTMAX, PLAN_ACT_STEP, PLAN_ACT_LOG_SOFTMAX, PLAN_ACT_COUNT };

/* ---- protobuf by hand ---- */

typedef struct pb {
  unsigned char *b;
  size_t len, cap;
  int oom;
} pb;

static void pb_raw(pb *p, const void *data, size_t len) {
  if (p->oom)
    return;
  if (p->len + len > p->cap) {
    size_t cap = p->cap ? p->cap : 256;
    while (cap < p->len + len)
      cap *= 2;
    unsigned char *b = nnrt__realloc(p->b, cap);
    if (!b) {
      p->oom = 1;
      return;
    }
    p->b = b;
    p->cap = cap;
  }
  if (len)
    memcpy(p->b + p->len, data, len);
  p->len += len;
}

static void pb_varint(pb *p, uint64_t v) {
  unsigned char w[10];
  int n = 0;
  do {
    w[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  pb_raw(p, w, (size_t)n);
}

static void pb_key(pb *p, int field, int wire) { pb_varint(p, (uint64_t)field << 3 | (uint64_t)wire); }

static void pb_int(pb *p, int field, int64_t v) {
  pb_key(p, field, 0);
  pb_varint(p, (uint64_t)v);
}

static void pb_bytes(pb *p, int field, const void *data, size_t len) {
  pb_key(p, field, 2);
  pb_varint(p, len);
  pb_raw(p, data, len);
}

static void pb_str(pb *p, int field, const char *s) { pb_bytes(p, field, s, strlen(s)); }

static void pb_float(pb *p, int field, float f) {
  uint32_t bits;
  unsigned char w[4];
  memcpy(&bits, &f, sizeof bits);
  for (int i = 0; i < 4; i++)
    w[i] = (unsigned char)(bits >> (8 * i));
  pb_key(p, field, 5);
  pb_raw(p, w, 4);
}

/* sub as a length-delimited field of p; sub is freed. */
static void pb_msg(pb *p, int field, pb *sub) {
  p->oom |= sub->oom;
  pb_bytes(p, field, sub->b, sub->len);
  nnrt__free(sub->b);
  memset(sub, 0, sizeof *sub);
}

/* ---- the plan ---- */

typedef struct plan_edges {
  int64_t kind, src, src_index, param_offset, count, n_values;
  const unsigned char *values;
} plan_edges;

typedef struct plan_group {
  int64_t role, size, act, io_offset, n_in;
  double act_param;
  char *name;
  plan_edges *in;
} plan_group;

typedef struct plan {
  const unsigned char *p, *end;
  int bad, oom;               /* malformed; out of memory (then bad too) */
  int64_t n_groups, n_order;
  int64_t *order;
  plan_group *groups;
} plan;

static uint64_t plan_word(plan *pl) {
  if (pl->bad || pl->end - pl->p < 8) {
    pl->bad = 1;
    return 0;
  }
  uint64_t v = nnrt__get_u64(pl->p);
  pl->p += 8;
  return v;
}

static int64_t plan_int(plan *pl, int64_t lo, int64_t hi) {
  int64_t v = (int64_t)plan_word(pl);
  if (v < lo || v > hi)
    pl->bad = 1;
  return pl->bad ? lo : v;
}

static double plan_real(plan *pl) {
  uint64_t bits = plan_word(pl);
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* A run of n words left in place (the fixed weights). */
static const unsigned char *plan_skip(plan *pl, int64_t n) {
  const unsigned char *at = pl->p;
  if (pl->bad || n < 0 || (pl->end - pl->p) / 8 < n) {
    pl->bad = 1;
    return NULL;
  }
  pl->p += 8 * n;
  return at;
}

static char *plan_name(plan *pl) {
  int64_t len = plan_int(pl, 0, 1 << 20);
  const unsigned char *at = plan_skip(pl, (len + 7) / 8);
  char *s = at ? nnrt__alloc((size_t)len + 1) : NULL;
  if (s) {
    memcpy(s, at, (size_t)len);
  } else {
    pl->oom |= at != NULL;
    pl->bad = 1;
  }
  return s;
}

static void plan_read_edges(plan *pl, const nnc_model *m, plan_edges *e) {
  e->kind = plan_int(pl, PLAN_DENSE, PLAN_ONE);
  e->src = plan_int(pl, 0, pl->n_groups - 1);
  e->src_index = plan_int(pl, 0, INT32_MAX);
  e->param_offset = plan_int(pl, -1, m->n_params);
  e->count = plan_int(pl, 0, INT64_MAX / 8);
  e->n_values = plan_int(pl, 0, e->count);
  if (e->param_offset >= 0 && (e->n_values || e->count > m->n_params - e->param_offset))
    pl->bad = 1;
  if (e->param_offset < 0 && e->n_values != 1 && e->n_values != e->count)
    pl->bad = 1;
  e->values = plan_skip(pl, e->n_values);
}

static void plan_read_group(plan *pl, const nnc_model *m, plan_group *g) {
  g->role = plan_int(pl, PLAN_INPUT, PLAN_OUTPUT);
  g->size = plan_int(pl, 1, INT32_MAX);
  g->act = plan_int(pl, 0, PLAN_ACT_COUNT - 1);
  g->act_param = plan_real(pl);
  g->io_offset = plan_int(pl, -1, INT32_MAX);
  g->name = plan_name(pl);
  g->n_in = plan_int(pl, 0, 1 << 24);
  if (pl->bad)
    return;
  g->in = nnrt__alloc(sizeof *g->in * (size_t)(g->n_in ? g->n_in : 1));
  if (!g->in) {
    pl->oom = pl->bad = 1;
    return;
  }
  for (int64_t k = 0; k < g->n_in && !pl->bad; k++)
    plan_read_edges(pl, m, &g->in[k]);
}

static void plan_free(plan *pl) {
  for (int64_t i = 0; pl->groups && i < pl->n_groups; i++) {
    nnrt__free(pl->groups[i].name);
    nnrt__free(pl->groups[i].in);
  }
  nnrt__free(pl->groups);
  nnrt__free(pl->order);
}

/* Every edge set's source fits its group (a dense set has size × source weights, one from
 * a neuron size weights), and inputs and outputs lie within the model's columns. */
static int plan_consistent(const plan *pl, const nnc_model *m) {
  for (int64_t i = 0; i < pl->n_groups; i++) {
    const plan_group *g = &pl->groups[i];
    if (g->role == PLAN_INPUT && (g->io_offset < 0 || g->io_offset + g->size > m->n_inputs))
      return 0;
    if (g->role == PLAN_OUTPUT && (g->io_offset < 0 || g->io_offset + g->size > m->n_outputs))
      return 0;
    for (int64_t k = 0; k < g->n_in; k++) {
      const plan_edges *e = &g->in[k];
      const plan_group *s = &pl->groups[e->src];
      int64_t want = e->kind == PLAN_DENSE ? g->size * s->size : g->size;
      if (e->count != want || (e->kind == PLAN_ONE && e->src_index >= s->size))
        return 0;
    }
  }
  for (int64_t i = 0; i < pl->n_order; i++)
    if (pl->groups[pl->order[i]].role < PLAN_HIDDEN)
      return 0;
  return 1;
}

static int plan_read(plan *pl, const nnc_model *m, nnrt_error *err) {
  memset(pl, 0, sizeof *pl);
  if (!m->onnx_plan || m->onnx_plan_bytes <= 0)
    return nnrt__fail(err, NNRT_EUSAGE, "model '%s' carries no description of its network for ONNX export "
                      "(nnc writes one into executables, not into objects or models written by hand): use an "
                      "executable nnc compiled, or nnc --emit-onnx", m->name);
  pl->p = m->onnx_plan;
  pl->end = m->onnx_plan + m->onnx_plan_bytes;
  if (plan_word(pl) != NNC_ONNX_PLAN_MAGIC)
    pl->bad = 1;
  pl->n_groups = plan_int(pl, 1, 1 << 24);
  pl->n_order = plan_int(pl, 1, pl->n_groups);
  if (!pl->bad) {
    pl->order = nnrt__alloc(sizeof *pl->order * (size_t)pl->n_order);
    pl->groups = nnrt__alloc(sizeof *pl->groups * (size_t)pl->n_groups);
    if (!pl->order || !pl->groups)
      return nnrt__oom(err);
  }
  for (int64_t i = 0; i < pl->n_order && !pl->bad; i++)
    pl->order[i] = plan_int(pl, 0, pl->n_groups - 1);
  for (int64_t i = 0; i < pl->n_groups && !pl->bad; i++)
    plan_read_group(pl, m, &pl->groups[i]);
  if (pl->oom)
    return nnrt__oom(err);
  if (pl->bad || pl->p != pl->end || !plan_consistent(pl, m))
    return nnrt__fail(err, NNRT_EDATA, "model '%s': its ONNX export plan is malformed", m->name);
  return NNRT_OK;
}

/* ---- the graph ---- */

typedef struct graph {
  const nnc_model *m;
  const void *params;
  const plan *pl;
  pb nodes, inits;         /* GraphProto's node and initializer fields */
  int elem;                /* ONNX_FLOAT or ONNX_DOUBLE: the model's reals */
  int64_t n_nodes;
  char **names;            /* every tensor name made, freed at the end */
  int64_t n_names, cap_names;
  char **value;            /* per group: the tensor holding its values (inputs: NULL) */
  const char *input;       /* the scaled input */
  int oom;
} graph;

/* A tensor name from a format, owned by the graph (NULL after running out of memory). */
static const char *name_of(graph *gr, const char *fmt, ...) NNRT_PRINTF(2, 3);
static const char *name_of(graph *gr, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = len >= 0 ? nnrt__alloc((size_t)len + 1) : NULL;
  if (gr->n_names == gr->cap_names) {
    int64_t cap = gr->cap_names ? 2 * gr->cap_names : 64;
    char **names = nnrt__realloc(gr->names, sizeof *names * (size_t)cap);
    if (!names) {
      nnrt__free(s);
      s = NULL;
    } else {
      gr->names = names;
      gr->cap_names = cap;
    }
  }
  if (!s) {
    gr->oom = 1;
    return "";
  }
  va_start(ap, fmt);
  vsnprintf(s, (size_t)len + 1, fmt, ap);
  va_end(ap);
  gr->names[gr->n_names++] = s;
  return s;
}

static void attr_int(pb *node, const char *name, int64_t v) {
  pb a = {0};
  pb_str(&a, 1, name);
  pb_int(&a, 3, v);
  pb_int(&a, 20, ATTR_INT);
  pb_msg(node, 5, &a);
}

static void attr_float(pb *node, const char *name, float v) {
  pb a = {0};
  pb_str(&a, 1, name);
  pb_float(&a, 2, v);
  pb_int(&a, 20, ATTR_FLOAT);
  pb_msg(node, 5, &a);
}

/* A node with up to three inputs (NULL: absent) and one output; attrs (may be NULL) are
 * its attributes, consumed. */
static void node(graph *gr, const char *op, const char *a, const char *b, const char *c, const char *out,
                 pb *attrs) {
  pb n = {0};
  const char *in[3] = {a, b, c};
  for (int i = 0; i < 3 && in[i]; i++)
    pb_str(&n, 1, in[i]);
  pb_str(&n, 2, out);
  pb_str(&n, 3, name_of(gr, "%s_%lld", op, (long long)gr->n_nodes++));
  pb_str(&n, 4, op);
  if (attrs) {
    n.oom |= attrs->oom;
    pb_raw(&n, attrs->b, attrs->len);
    nnrt__free(attrs->b);
  }
  pb_msg(&gr->nodes, 1, &n);
}

static void node_int_attr(graph *gr, const char *op, const char *in, const char *out, const char *attr,
                          int64_t v) {
  pb a = {0};
  attr_int(&a, attr, v);
  node(gr, op, in, NULL, NULL, out, &a);
}

/* An initializer of n reals in the model's precision (as_double: in double), dims given. */
static void initializer(graph *gr, const char *name, const int64_t *dims, int nd, const double *v, int64_t n,
                        int as_double) {
  pb t = {0}, raw = {0};
  for (int d = 0; d < nd; d++)
    pb_int(&t, 1, dims[d]);
  pb_int(&t, 2, as_double ? ONNX_DOUBLE : ONNX_FLOAT);
  pb_str(&t, 8, name);
  for (int64_t i = 0; i < n && !raw.oom; i++) {
    unsigned char w[8];
    uint64_t bits = 0;
    if (as_double) {
      memcpy(&bits, &v[i], 8);
    } else {
      float f = (float)v[i];
      uint32_t b32;
      memcpy(&b32, &f, 4);
      bits = b32;
    }
    for (int k = 0; k < 8; k++)
      w[k] = (unsigned char)(bits >> (8 * k));
    pb_raw(&raw, w, as_double ? 8 : 4);
  }
  t.oom |= raw.oom;
  pb_bytes(&t, 9, raw.b, raw.len);
  nnrt__free(raw.b);
  pb_msg(&gr->inits, 5, &t);
}

/* The weight of edge k of e: a parameter, or its fixed value. */
static double edge_weight(const graph *gr, const plan_edges *e, int64_t k) {
  if (e->param_offset >= 0)
    return nnrt__get(gr->params, gr->m->real_bytes, e->param_offset + k);
  const unsigned char *w = e->values + 8 * (e->n_values == 1 ? 0 : k);
  uint64_t bits = nnrt__get_u64(w);
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* The weights of a set from a source group as a [size, width] matrix (row-major, as Gemm
 * with transB reads it): an input group's columns lie at its place among all inputs. */
static double *edge_matrix(graph *gr, const plan_group *g, const plan_edges *e, int64_t *width) {
  const plan_group *s = &gr->pl->groups[e->src];
  int64_t col0 = s->role == PLAN_INPUT ? s->io_offset : 0;
  *width = s->role == PLAN_INPUT ? gr->m->n_inputs : s->size;
  double *w = nnrt__alloc_array((int64_t)g->size * *width, sizeof *w);
  if (!w)
    return gr->oom = 1, NULL;
  for (int64_t d = 0; d < g->size; d++) {
    if (e->kind == PLAN_ONE)
      w[d * *width + col0 + e->src_index] = edge_weight(gr, e, d);
    else
      for (int64_t j = 0; j < s->size; j++)
        w[d * *width + col0 + j] = edge_weight(gr, e, d * s->size + j);
  }
  return w;
}

/* Σ of the weights from bias neurons (always 1) into each neuron of g. */
static void bias_vector(const graph *gr, const plan_group *g, double *b) {
  for (int64_t k = 0; k < g->n_in; k++) {
    const plan_edges *e = &g->in[k];
    const plan_group *s = &gr->pl->groups[e->src];
    if (s->role != PLAN_BIAS)
      continue;
    for (int64_t d = 0; d < g->size; d++) {
      if (e->kind == PLAN_ONE)
        b[d] += edge_weight(gr, e, d);
      else
        for (int64_t j = 0; j < s->size; j++)
          b[d] += edge_weight(gr, e, d * s->size + j);
    }
  }
}

/* One Gemm for edge set t of g (e NULL: zero weights from the input) into out, bias (may be
 * NULL) its C. */
static void gemm(graph *gr, const plan_group *g, const plan_edges *e, int t, const char *bias, const char *out) {
  int64_t width = gr->m->n_inputs;
  double *w = e ? edge_matrix(gr, g, e, &width) : nnrt__alloc_array((int64_t)g->size * width, sizeof(double));
  if (!w) {
    gr->oom = 1;
    return;
  }
  const char *wname = name_of(gr, "%s/W%d", g->name, t);
  int64_t dims[2] = {g->size, width};
  initializer(gr, wname, dims, 2, w, g->size * width, gr->elem == ONNX_DOUBLE);
  nnrt__free(w);
  const char *src = !e || gr->pl->groups[e->src].role == PLAN_INPUT ? gr->input : gr->value[e->src];
  pb a = {0};
  attr_int(&a, "transB", 1);
  node(gr, "Gemm", src, wname, bias, out, &a);
}

/* z of g: one Gemm per edge set that is not from a bias, the first with the bias as C,
 * summed in the order of the sets. */
static void weighted_sum(graph *gr, const plan_group *g, const char *z) {
  double *b = nnrt__alloc_array(g->size, sizeof *b);
  if (!b) {
    gr->oom = 1;
    return;
  }
  bias_vector(gr, g, b);
  const char *bias = name_of(gr, "%s/b", g->name);
  int64_t dims[1] = {g->size};
  initializer(gr, bias, dims, 1, b, g->size, gr->elem == ONNX_DOUBLE);
  nnrt__free(b);
  int terms = 0;
  for (int64_t k = 0; k < g->n_in; k++)
    terms += gr->pl->groups[g->in[k].src].role != PLAN_BIAS;
  if (!terms)
    return gemm(gr, g, NULL, 0, bias, z);
  const char *sum = NULL;
  int t = 0;
  for (int64_t k = 0; k < g->n_in; k++) {
    const plan_edges *e = &g->in[k];
    if (gr->pl->groups[e->src].role == PLAN_BIAS)
      continue;
    const char *term = terms == 1 ? z : name_of(gr, "%s/term%d", g->name, t);
    gemm(gr, g, e, t, t ? NULL : bias, term);
    if (t) {
      const char *next = t == terms - 1 ? z : name_of(gr, "%s/sum%d", g->name, t);
      node(gr, "Add", sum, term, NULL, next, NULL);
      term = next;
    }
    sum = term;
    t++;
  }
}

static const char *const act_ops[PLAN_ACT_COUNT] = {
    [PLAN_ACT_SIGMOID] = "Sigmoid", [PLAN_ACT_RELU] = "Relu", [PLAN_ACT_TANH] = "Tanh",
    [PLAN_ACT_LEAKY_RELU] = "LeakyRelu", [PLAN_ACT_SOFTPLUS] = "Softplus", [PLAN_ACT_SOFTMAX] = "Softmax",
    [PLAN_ACT_LOG_SOFTMAX] = "LogSoftmax"};

/* The activation of g from z into its value: one operator, or for a step unit
 * Cast(Greater(z, 0)) (1 where z > 0, else 0). */
static void activation(graph *gr, const plan_group *g, const char *z, const char *value) {
  pb a = {0};
  switch (g->act) {
  case PLAN_ACT_IDENTITY:
    return;
  case PLAN_ACT_STEP: {
    const char *zero = name_of(gr, "%s/zero", g->name), *pos = name_of(gr, "%s/positive", g->name);
    double v = 0;
    initializer(gr, zero, NULL, 0, &v, 1, gr->elem == ONNX_DOUBLE);
    node(gr, "Greater", z, zero, NULL, pos, NULL);
    return node_int_attr(gr, "Cast", pos, value, "to", gr->elem);
  }
  case PLAN_ACT_LEAKY_RELU:
    attr_float(&a, "alpha", (float)g->act_param);
    break;
  case PLAN_ACT_SOFTMAX:
  case PLAN_ACT_LOG_SOFTMAX:
    attr_int(&a, "axis", -1);
    break;
  default:
    break;
  }
  node(gr, act_ops[g->act], z, NULL, NULL, value, &a);
}

/* The input as the network sees it: (x − offset)·mul computed in double and rounded once to
 * the model's reals, as nnc scales inputs. */
static const char *scaled_input(graph *gr, const nnrt_scaler *sc) {
  if (!sc || sc->mode == NNC_SCALE_NONE)
    return "input";
  int64_t dims[1] = {gr->m->n_inputs};
  int centred = 0;
  for (int32_t i = 0; i < sc->n; i++)
    centred |= sc->offset[i] != 0;
  const char *x = "input";
  if (gr->elem == ONNX_FLOAT)
    node_int_attr(gr, "Cast", x, "input/double", "to", ONNX_DOUBLE), x = "input/double";
  if (centred) {
    initializer(gr, "input/scale_offset", dims, 1, sc->offset, sc->n, 1);
    node(gr, "Sub", x, "input/scale_offset", NULL, "input/centred", NULL);
    x = "input/centred";
  }
  initializer(gr, "input/scale_mul", dims, 1, sc->mul, sc->n, 1);
  node(gr, "Mul", x, "input/scale_mul", NULL, gr->elem == ONNX_FLOAT ? "input/scaled_double" : "input/scaled", NULL);
  if (gr->elem == ONNX_FLOAT)
    node_int_attr(gr, "Cast", "input/scaled_double", "input/scaled", "to", ONNX_FLOAT);
  return "input/scaled";
}

/* The outputs in their original units: y/mul + offset in double, as predict prints them. */
static void unscaled_output(graph *gr, const nnrt_scaler *ts, const char *y) {
  int64_t dims[1] = {gr->m->n_outputs};
  const char *v = y;
  if (gr->elem == ONNX_FLOAT)
    node_int_attr(gr, "Cast", v, "output/double", "to", ONNX_DOUBLE), v = "output/double";
  initializer(gr, "output/target_mul", dims, 1, ts->mul, ts->n, 1);
  initializer(gr, "output/target_offset", dims, 1, ts->offset, ts->n, 1);
  node(gr, "Div", v, "output/target_mul", NULL, "output/divided", NULL);
  node(gr, "Add", "output/divided", "output/target_offset", NULL, gr->elem == ONNX_FLOAT ? "output/unscaled" : "output",
       NULL);
  if (gr->elem == ONNX_FLOAT)
    node_int_attr(gr, "Cast", "output/unscaled", "output", "to", ONNX_FLOAT);
}

static int64_t output_groups(const plan *pl) {
  int64_t n = 0;
  for (int64_t i = 0; i < pl->n_groups; i++)
    n += pl->groups[i].role == PLAN_OUTPUT;
  return n;
}

/* The output groups side by side in the order of their columns. */
static void concat_outputs(graph *gr, const char *y) {
  pb n = {0}, a = {0};
  for (int64_t col = 0; col < gr->m->n_outputs;) {
    int64_t next = col;
    for (int64_t i = 0; i < gr->pl->n_groups; i++) {
      const plan_group *g = &gr->pl->groups[i];
      if (g->role == PLAN_OUTPUT && g->io_offset == col) {
        pb_str(&n, 1, gr->value[i]);
        next = col + g->size;
        break;
      }
    }
    if (next == col) /* plan_consistent let through a gap: cannot happen with nnc's IR */
      gr->oom = 1;
    if (next == col)
      break;
    col = next;
  }
  pb_str(&n, 2, y);
  pb_str(&n, 3, name_of(gr, "Concat_%lld", (long long)gr->n_nodes++));
  pb_str(&n, 4, "Concat");
  attr_int(&a, "axis", 1);
  n.oom |= a.oom;
  pb_raw(&n, a.b, a.len);
  nnrt__free(a.b);
  pb_msg(&gr->nodes, 1, &n);
}

static void build_nodes(graph *gr, const nnrt_scaler *sc, const nnrt_scaler *ts) {
  const plan *pl = gr->pl;
  int64_t outs = output_groups(pl);
  const char *y = ts ? "output/scaled" : "output";
  gr->input = scaled_input(gr, sc);
  for (int64_t i = 0; i < pl->n_groups; i++) {
    const plan_group *g = &pl->groups[i];
    if (g->role == PLAN_OUTPUT && outs == 1)
      gr->value[i] = (char *)y;
    else if (g->role >= PLAN_HIDDEN)
      gr->value[i] = (char *)name_of(gr, "%s", g->name);
  }
  for (int64_t k = 0; k < pl->n_order && !gr->oom; k++) {
    const plan_group *g = &pl->groups[pl->order[k]];
    const char *value = gr->value[pl->order[k]];
    const char *z = g->act == PLAN_ACT_IDENTITY ? value : name_of(gr, "%s/z", g->name);
    weighted_sum(gr, g, z);
    activation(gr, g, z, value);
  }
  if (outs > 1)
    concat_outputs(gr, y);
  if (ts)
    unscaled_output(gr, ts, y);
}

/* ValueInfoProto of a [N, width] tensor of the model's reals. */
static void value_info(pb *graph_msg, int field, const char *name, int elem, int64_t width) {
  pb vi = {0}, type = {0}, tensor = {0}, shape = {0}, d0 = {0}, d1 = {0};
  pb_str(&d0, 2, "N");
  pb_int(&d1, 1, width);
  pb_msg(&shape, 1, &d0);
  pb_msg(&shape, 1, &d1);
  pb_int(&tensor, 1, elem);
  pb_msg(&tensor, 2, &shape);
  pb_msg(&type, 1, &tensor);
  pb_str(&vi, 1, name);
  pb_msg(&vi, 2, &type);
  pb_msg(graph_msg, field, &vi);
}

static void model_bytes(graph *gr, pb *model) {
  pb g = {0}, opset = {0};
  char doc[256];
  g.oom |= gr->nodes.oom | gr->inits.oom;
  pb_raw(&g, gr->nodes.b, gr->nodes.len);
  pb_str(&g, 2, gr->m->name);
  pb_raw(&g, gr->inits.b, gr->inits.len);
  snprintf(doc, sizeof doc, "network %s, exported by nnc with its weights", gr->m->name);
  pb_str(&g, 10, doc);
  value_info(&g, 11, "input", gr->elem, gr->m->n_inputs);
  value_info(&g, 12, "output", gr->elem, gr->m->n_outputs);
  pb_int(model, 1, ONNX_IR_VERSION);
  pb_str(model, 2, "nnc");
  pb_msg(model, 7, &g);
  pb_str(&opset, 1, "");
  pb_int(&opset, 2, ONNX_OPSET);
  pb_msg(model, 8, &opset);
}

static void graph_free(graph *gr) {
  for (int64_t i = 0; i < gr->n_names; i++)
    nnrt__free(gr->names[i]);
  nnrt__free(gr->names);
  nnrt__free(gr->value);
  nnrt__free(gr->nodes.b);
  nnrt__free(gr->inits.b);
}

int nnrt_onnx_model(const nnc_model *m, const void *params, const nnrt_scaler *scaler, const nnrt_scaler *targets,
                    unsigned char **bytes, size_t *len, nnrt_error *err) {
  plan pl;
  int rc = plan_read(&pl, m, err);
  *bytes = NULL;
  *len = 0;
  if (rc) {
    plan_free(&pl);
    return rc;
  }
  graph gr = {.m = m, .params = params, .pl = &pl, .elem = m->real_bytes == 8 ? ONNX_DOUBLE : ONNX_FLOAT};
  pb model = {0};
  gr.value = nnrt__alloc(sizeof *gr.value * (size_t)pl.n_groups);
  if (gr.value) {
    build_nodes(&gr, scaler, targets && targets->mode != NNC_SCALE_NONE ? targets : NULL);
    model_bytes(&gr, &model);
  }
  if (!gr.value || gr.oom || model.oom) {
    rc = nnrt__oom(err);
    nnrt__free(model.b);
  } else {
    *bytes = model.b;
    *len = model.len;
  }
  graph_free(&gr);
  plan_free(&pl);
  return rc;
}

int nnrt_onnx_write(const char *path, const nnc_model *m, const void *params, const nnrt_scaler *scaler,
                    const nnrt_scaler *targets, nnrt_error *err) {
  unsigned char *bytes;
  size_t len;
  int rc = nnrt_onnx_model(m, params, scaler, targets, &bytes, &len, err);
  if (!rc)
    rc = nnrt__write_atomic(path, bytes, len, err);
  nnrt__free(bytes);
  return rc;
}
