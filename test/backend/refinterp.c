/* refinterp.c — the reference interpreter of refinterp.h.
 * The network is flattened once into neurons, each with the explicit list of its incoming
 * edges (source neuron, parameter index or fixed weight). Forward evaluates the neurons in
 * the IR's group order; backward walks the groups in reverse and applies the chain rule to
 * each neuron: ∂L/∂z = ∂L/∂y · f'(z) (f' of the weighted input z, not of the output, and
 * the full Jacobian for softmax), ∂L/∂w += ∂L/∂z · o(src), ∂L/∂o(src) += w · ∂L/∂z.
 * The loss gradient ∂L/∂y is written from the loss itself (−t/y for cross-entropy),
 * never through the y − t shortcut, so an output that feeds other neurons is handled too. */
#include "refinterp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct RefEdge {
  int64_t src;    /* index into the value vector */
  int64_t param;  /* index into p, or -1 for a fixed weight */
  double fixed;
} RefEdge;

typedef struct RefNeuron {
  int64_t value;  /* its index in the value vector */
  IrAct act;
  double slope;   /* leaky_relu */
  int n_in;
  RefEdge *in;
} RefNeuron;

typedef struct RefGroup {
  int first, size; /* neurons[first .. first+size) */
  int softmax, output;
  int64_t io;      /* output column of its first neuron, or -1 */
} RefGroup;

struct RefNet {
  const IrNetwork *ir;
  int loss;
  int n_inputs, n_outputs;
  int64_t n_params, n_values;
  int n_neurons, n_groups;
  RefNeuron *neurons;
  RefGroup *groups;        /* hidden and output groups in evaluation order */
  int64_t *input_value;    /* input column -> value index */
  int64_t n_bias;
  int64_t *bias_value;     /* values that are always 1 */
  double *initial;         /* per parameter: literal initial value or NaN */
  double *z, *o, *dy, *dz; /* per value: weighted input, output, ∂L/∂o, ∂L/∂z */
};

/* --- building the edge lists --------------------------------------------------------- */

static int count_edges_into(const IrNetwork *n, const IrGroup *g) {
  int k = 0;
  for (int e = 0; e < g->n_in; e++)
    k += g->in[e].kind == EDGES_DENSE ? n->groups[g->in[e].src].size : 1;
  return k;
}

/* The edges into neuron j of group g, in the ABI's parameter layout. */
static void fill_edges(RefNet *r, const IrGroup *g, int j, RefNeuron *nr) {
  const IrNetwork *n = r->ir;
  nr->n_in = 0;
  nr->in = calloc((size_t)count_edges_into(n, g), sizeof(RefEdge));
  for (int e = 0; e < g->n_in; e++) {
    const IrEdges *es = &g->in[e];
    const IrGroup *src = &n->groups[es->src];
    int width = es->kind == EDGES_DENSE ? src->size : 1;
    for (int i = 0; i < width; i++) {
      RefEdge *ed = &nr->in[nr->n_in++];
      int si = es->kind == EDGES_DENSE ? i : es->src_index;
      int64_t k = es->kind == EDGES_DENSE ? (int64_t)j * src->size + i : j;
      ed->src = src->value_offset + si;
      ed->param = es->weight == WEIGHT_FIXED ? -1 : es->param_offset + k;
      ed->fixed = es->values ? es->values[k] : es->value;
      if (es->weight == WEIGHT_INITIAL) r->initial[ed->param] = ed->fixed;
    }
  }
}

static void add_group(RefNet *r, const IrGroup *g) {
  RefGroup *rg = &r->groups[r->n_groups++];
  rg->first = r->n_neurons;
  rg->size = g->size;
  rg->softmax = g->act == ACT_SOFTMAX;
  rg->output = g->role == ROLE_OUTPUT;
  rg->io = g->role == ROLE_OUTPUT ? g->io_offset : -1;
  for (int j = 0; j < g->size; j++) {
    RefNeuron *nr = &r->neurons[r->n_neurons++];
    nr->value = g->value_offset + j;
    nr->act = g->act;
    nr->slope = g->act_param;
    fill_edges(r, g, j, nr);
  }
}

RefNet *ref_build(const IrNetwork *n) {
  RefNet *r = calloc(1, sizeof *r);
  r->ir = n;
  r->loss = n->train.loss;
  r->n_inputs = n->n_inputs;
  r->n_outputs = n->n_outputs;
  r->n_params = n->n_params;
  r->n_values = n->n_values;
  r->neurons = calloc((size_t)n->n_values, sizeof(RefNeuron));
  r->groups = calloc((size_t)n->n_groups, sizeof(RefGroup));
  r->input_value = calloc((size_t)n->n_inputs + 1, sizeof(int64_t));
  r->bias_value = calloc((size_t)n->n_values, sizeof(int64_t));
  r->initial = malloc(sizeof(double) * (size_t)(n->n_params + 1));
  for (int64_t i = 0; i < n->n_params; i++) r->initial[i] = NAN;
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    for (int j = 0; j < g->size; j++) {
      if (g->role == ROLE_INPUT) r->input_value[g->io_offset + j] = g->value_offset + j;
      if (g->role == ROLE_BIAS) r->bias_value[r->n_bias++] = g->value_offset + j;
    }
  }
  for (int i = 0; i < n->n_order; i++) add_group(r, &n->groups[n->order[i]]);
  size_t vals = (size_t)n->n_values;
  r->z = calloc(vals, sizeof(double));
  r->o = calloc(vals, sizeof(double));
  r->dy = calloc(vals, sizeof(double));
  r->dz = calloc(vals, sizeof(double));
  return r;
}

void ref_free(RefNet *r) {
  if (!r) return;
  for (int i = 0; i < r->n_neurons; i++) free(r->neurons[i].in);
  free(r->neurons);
  free(r->groups);
  free(r->input_value);
  free(r->bias_value);
  free(r->initial);
  free(r->z);
  free(r->o);
  free(r->dy);
  free(r->dz);
  free(r);
}

int64_t ref_n_params(const RefNet *r) { return r->n_params; }
int ref_n_inputs(const RefNet *r) { return r->n_inputs; }
int ref_n_outputs(const RefNet *r) { return r->n_outputs; }
int ref_loss_kind(const RefNet *r) { return r->loss; }
double ref_initial_value(const RefNet *r, int64_t i) { return r->initial[i]; }

int ref_softmax_group_of(const RefNet *r, int k, int *first, int *size) {
  for (int i = 0; i < r->n_groups; i++) {
    const RefGroup *g = &r->groups[i];
    if (g->output && k >= g->io && k < g->io + g->size) {
      *first = (int)g->io;
      *size = g->size;
      return g->softmax;
    }
  }
  return 0;
}

/* --- activations --------------------------------------------------------------------- */

static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

static double act_value(const RefNeuron *nr, double z) {
  switch (nr->act) {
  case ACT_IDENTITY: return z;
  case ACT_SIGMOID: return sigmoid(z);
  case ACT_RELU: return z > 0 ? z : 0;
  case ACT_TANH: return tanh(z);
  case ACT_LEAKY_RELU: return z > 0 ? z : nr->slope * z;
  case ACT_SOFTPLUS: return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
  case ACT_STEP: return z > 0 ? 1 : 0;
  default: return z; /* softmax: normalised over the group afterwards */
  }
}

/* f'(z), from the weighted input. relu'(0) = 0 and leaky_relu'(0) = slope, like codegen. */
static double act_slope(const RefNeuron *nr, double z) {
  switch (nr->act) {
  case ACT_IDENTITY: return 1;
  case ACT_SIGMOID: return sigmoid(z) * sigmoid(-z);
  case ACT_RELU: return z > 0 ? 1 : 0;
  case ACT_TANH: { double c = cosh(z); return 1 / (c * c); }
  case ACT_LEAKY_RELU: return z > 0 ? 1 : nr->slope;
  case ACT_SOFTPLUS: return sigmoid(z);
  default: return 0; /* step; softmax is handled by its Jacobian */
  }
}

/* --- forward ------------------------------------------------------------------------- */

static double edge_weight(const RefEdge *e, const double *p) { return e->param < 0 ? e->fixed : p[e->param]; }

static void softmax_group(RefNet *r, const RefGroup *g) {
  double mx = -INFINITY, sum = 0;
  for (int j = 0; j < g->size; j++) mx = fmax(mx, r->z[r->neurons[g->first + j].value]);
  for (int j = 0; j < g->size; j++) {
    int64_t v = r->neurons[g->first + j].value;
    r->o[v] = exp(r->z[v] - mx);
    sum += r->o[v];
  }
  for (int j = 0; j < g->size; j++) r->o[r->neurons[g->first + j].value] /= sum;
}

static void forward_one(RefNet *r, const double *p, const double *x) {
  for (int i = 0; i < r->n_inputs; i++) r->o[r->input_value[i]] = x[i];
  for (int64_t i = 0; i < r->n_bias; i++) r->o[r->bias_value[i]] = 1;
  for (int gi = 0; gi < r->n_groups; gi++) {
    const RefGroup *g = &r->groups[gi];
    for (int j = 0; j < g->size; j++) {
      const RefNeuron *nr = &r->neurons[g->first + j];
      double z = 0;
      for (int k = 0; k < nr->n_in; k++) z += edge_weight(&nr->in[k], p) * r->o[nr->in[k].src];
      r->z[nr->value] = z;
      r->o[nr->value] = act_value(nr, z);
    }
    if (g->softmax) softmax_group(r, g);
  }
}

static void read_outputs(const RefNet *r, double *y) {
  for (int gi = 0; gi < r->n_groups; gi++) {
    const RefGroup *g = &r->groups[gi];
    if (!g->output) continue;
    for (int j = 0; j < g->size; j++) y[g->io + j] = r->o[r->neurons[g->first + j].value];
  }
}

void ref_forward(RefNet *r, const double *p, int64_t n, const double *x, double *y) {
  for (int64_t s = 0; s < n; s++) {
    forward_one(r, p, x + s * r->n_inputs);
    read_outputs(r, y + s * r->n_outputs);
  }
}

/* --- loss ---------------------------------------------------------------------------- */

/* Loss of one output neuron with output y and target t; *dl = ∂loss/∂y. */
static double neuron_loss(const RefNet *r, const RefGroup *g, double y, double t, double *dl) {
  if (r->loss == NNC_LOSS_SQUARED) {
    *dl = 2 * (y - t);
    return (y - t) * (y - t);
  }
  if (g->softmax) {
    *dl = -t / y;
    return -t * log(y);
  }
  *dl = -t / y + (1 - t) / (1 - y); /* sigmoid outputs: binary cross-entropy */
  return -(t * log(y) + (1 - t) * log(1 - y));
}

static double loss_one(RefNet *r, const double *t) {
  double loss = 0;
  for (int gi = 0; gi < r->n_groups; gi++) {
    const RefGroup *g = &r->groups[gi];
    if (!g->output) continue;
    for (int j = 0; j < g->size; j++) {
      int64_t v = r->neurons[g->first + j].value;
      double dl;
      loss += neuron_loss(r, g, r->o[v], t[g->io + j], &dl);
      r->dy[v] += dl;
    }
  }
  return loss;
}

/* --- backward ------------------------------------------------------------------------ */

/* ∂L/∂z of every neuron of g from ∂L/∂o: y_k(∂L/∂o_k − Σ_j y_j ∂L/∂o_j) for softmax. */
static void group_deltas(RefNet *r, const RefGroup *g) {
  if (g->softmax) {
    double s = 0;
    for (int j = 0; j < g->size; j++) {
      int64_t v = r->neurons[g->first + j].value;
      s += r->o[v] * r->dy[v];
    }
    for (int j = 0; j < g->size; j++) {
      int64_t v = r->neurons[g->first + j].value;
      r->dz[v] = r->o[v] * (r->dy[v] - s);
    }
    return;
  }
  for (int j = 0; j < g->size; j++) {
    const RefNeuron *nr = &r->neurons[g->first + j];
    r->dz[nr->value] = r->dy[nr->value] * act_slope(nr, r->z[nr->value]);
  }
}

static void backward_one(RefNet *r, const double *p, double *grad) {
  for (int gi = r->n_groups - 1; gi >= 0; gi--) {
    const RefGroup *g = &r->groups[gi];
    group_deltas(r, g);
    for (int j = 0; j < g->size; j++) {
      const RefNeuron *nr = &r->neurons[g->first + j];
      double d = r->dz[nr->value];
      for (int k = 0; k < nr->n_in; k++) {
        const RefEdge *e = &nr->in[k];
        if (e->param >= 0) grad[e->param] += d * r->o[e->src];
        r->dy[e->src] += edge_weight(e, p) * d;
      }
    }
  }
}

double ref_loss_grad(RefNet *r, const double *p, int64_t n, const double *x, const double *t, double *grad) {
  double total = 0;
  for (int64_t s = 0; s < n; s++) {
    forward_one(r, p, x + s * r->n_inputs);
    memset(r->dy, 0, sizeof(double) * (size_t)r->n_values);
    total += loss_one(r, t + s * r->n_outputs);
    if (grad) backward_one(r, p, grad);
  }
  return total;
}

double ref_kink_margin(RefNet *r, const double *p, const double *x) {
  forward_one(r, p, x);
  double margin = 1;
  for (int i = 0; i < r->n_neurons; i++) {
    const RefNeuron *nr = &r->neurons[i];
    if (nr->act != ACT_RELU && nr->act != ACT_LEAKY_RELU && nr->act != ACT_STEP) continue;
    double mag = 0;
    for (int k = 0; k < nr->n_in; k++) mag += fabs(edge_weight(&nr->in[k], p) * r->o[nr->in[k].src]);
    double m = mag > 0 ? fabs(r->z[nr->value]) / mag : 1;
    if (m < margin) margin = m;
  }
  return margin;
}
