/* ir.h — the network IR: a checked DAG of neuron groups joined by edge sets.
 * sema.c builds it from the AST; ir_verify.c checks its invariants; every later pass
 * (dumps, codegen) reads it and nothing else. It lives in one arena with the network.
 *
 * Invariants (ir_verify): group ids are indices into groups[]; every edge set points from
 * an earlier group in topological order and names the group it feeds; every hidden and output neuron has exactly one
 * bias edge; parameter blocks tile [0, n_params) without overlap, in topological order. */
#ifndef NNC_IR_H
#define NNC_IR_H

#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "nnc/model.h"

struct AstFile;

typedef enum IrAct {
  ACT_IDENTITY,
  ACT_SIGMOID,
  ACT_RELU,
  ACT_TANH,
  ACT_LEAKY_RELU, /* act_param: the slope below zero */
  ACT_SOFTPLUS,
  ACT_SOFTMAX,    /* over the whole group; output groups only */
  ACT_STEP,       /* 1 if x > 0 else 0; derivative 0 */
  ACT_LOG_SOFTMAX, /* log of the softmax, z − max z − log Σ e^{z − max z}; output groups only,
                      for inference (a network with one compiles with its weights) */
  ACT_COUNT
} IrAct;

typedef enum IrRole { ROLE_INPUT, ROLE_BIAS, ROLE_HIDDEN, ROLE_OUTPUT } IrRole;

typedef enum IrWeightKind {
  WEIGHT_LEARNED, /* a parameter, initialised by the init scheme */
  WEIGHT_INITIAL, /* a parameter with a literal initial value */
  WEIGHT_FIXED,   /* a constant, not a parameter */
} IrWeightKind;

typedef enum IrEdgeKind {
  EDGES_DENSE, /* every neuron of src to every neuron of the group: size × src.size weights */
  EDGES_ONE,   /* neuron src[src_index] to every neuron of the group: size weights */
} IrEdgeKind;

typedef struct IrEdges {
  IrEdgeKind kind;
  int src;               /* group id */
  int dst;               /* the group it feeds */
  int src_index;         /* EDGES_ONE: which neuron of src */
  IrWeightKind weight;
  double value;          /* WEIGHT_INITIAL, WEIGHT_FIXED: the weight of every edge in the set */
  const double *values;  /* or, when not NULL, one weight per edge (count of them, in the
                            order of the parameters: DENSE row-major [dst][src], else [dst]) */
  int64_t param_offset;  /* first parameter; -1 for WEIGHT_FIXED. DENSE: row-major [dst][src] */
  int64_t count;         /* number of edges */
  SrcLoc loc;
} IrEdges;

/* How learned weights start (`init` in the train block, `init` and `bias_init` on a group):
 * kind an IrInit, a and b its numbers (uniform's ends, normal's mean and std, a constant's
 * value); kind -1: not given (the network's scheme). */
typedef struct IrInitSpec {
  int kind;
  double a, b;
} IrInitSpec;

typedef struct IrGroup {
  int id;
  const char *name;
  SrcLoc loc;
  IrRole role;
  int size;
  IrAct act;
  double act_param;
  int implicit;          /* a bias neuron the compiler added */
  IrEdges *in;           /* incoming edge sets; the bias edge set is last */
  int n_in;
  int depth;             /* longest path from an input (inputs and biases: 0) */
  int vectorisable;      /* all incoming sets dense from whole groups: one matrix-vector op each */
  int64_t value_offset;  /* first neuron of this group in the network's value vector */
  int64_t io_offset;     /* inputs: column in x; outputs: column in y; else -1 */
  IrInitSpec init;       /* `init` of the group's declaration, kind -1: the network's */
  IrInitSpec bias_init;  /* `bias_init` of the declaration, kind -1: the network's */
  double dropout;        /* `dropout P`: share of outputs zeroed per training sample, 0: none */
  int64_t dropout_offset; /* dropout > 0: first unit of this group in a sample's mask row */
} IrGroup;

typedef struct IrNetwork {
  const char *name;
  const char *source_path;
  SrcLoc loc;
  IrGroup *groups;
  int n_groups;
  int *order;            /* ids of hidden and output groups in evaluation order */
  int n_order;
  int n_inputs, n_outputs;   /* total widths */
  int64_t n_params, n_values;
  int real_bytes;            /* 4: f32, 8: f64 */
  int bf16_products;         /* precision bf16: f32 reals, the batch kernels' products of
                                bf16 operands summed in f32 (cg_batch.c) */
  SrcLoc bf16_loc;           /* where precision bf16 was asked for */
  int classifier;
  uint64_t fingerprint;
  nnc_train_settings train;
  int train_given;           /* the file had a train block */
  int init_kind;             /* IrInit */
  double init_a, init_b;
  IrInitSpec bias_init;      /* the train block's `bias_init`, kind -1: the scheme's biases */
  int64_t n_dropout;         /* units of the groups with dropout: the length of a mask row */
} IrNetwork;

/* INIT_TORCH: PyTorch's nn.Linear default, weights and biases uniform in ±1/√fan_in;
 * INIT_CONSTANT (bias_init only): every bias weight a. */
typedef enum IrInit {
  INIT_UNIFORM, INIT_NORMAL, INIT_XAVIER, INIT_HE, INIT_ZERO, INIT_TORCH, INIT_CONSTANT
} IrInit;

const char *ir_act_name(IrAct a);
const char *ir_role_name(IrRole r);
const char *ir_init_name(IrInit i);
/* "he", "uniform(-0.1, 0.1)", or a constant's value "0.5". */
const char *ir_init_text(const IrInitSpec *spec, char *buf, size_t size);
const IrGroup *ir_group(const IrNetwork *n, int id);
int64_t ir_fan_in(const IrNetwork *n, const IrGroup *g); /* incoming edges per neuron, bias excluded */
int64_t ir_fan_out(const IrNetwork *n, int group_id);    /* outgoing edges per neuron */
uint64_t ir_fingerprint(const IrNetwork *n);

/* Passes. */
IrNetwork *sema_check(const struct AstFile *file, const char *source_path, Arena *arena, Diag *diag);
int ir_verify(const IrNetwork *n, FILE *err);  /* 0 if every invariant holds */
void ir_dump(const IrNetwork *n, FILE *out);     /* --emit-ir */
void ir_dump_dot(const IrNetwork *n, FILE *out); /* --emit-dot */

#endif
