/* cg.h — state and small helpers shared by the LLVM code generator's files:
 * codegen.c (the network's functions and descriptor) and cg_math.c (inline math and the
 * forward/derivative rule of each activation, side by side). One LLVM context per compile. */
#ifndef NNC_CG_H
#define NNC_CG_H

#include <llvm-c/Core.h>

#include "codegen.h"
#include "ir.h"

struct CgTables;
struct CgQuant;

typedef struct Cg {
  const IrNetwork *net;
  const char *prefix;              /* of the exported symbols: PREFIX_forward, ... */
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef real, i1, i8, i32, i64, f64, ptr, void_t;
  int real_bytes;
  LLVMValueRef fn;                 /* function being built */
  LLVMBasicBlockRef entry;         /* its entry block, where allocas go */
  int vec_bytes;                   /* widest useful vector of the target: 64, 32 or 16 */
  int vec_regs, vec_fma;           /* its vector registers of that width; fused multiply-add */
  uint64_t x86_features;           /* the extensions the code may use (nnc/cpu_features.h) */
  LLVMValueRef embedded;           /* NAME_weights when trained weights are compiled in, or NULL */
  LLVMValueRef next_x;             /* while building the pipelined SGD step: the next sample */
  int prefused;                    /* while building its forward: products already in V */
  int dropout;                     /* while building the training kernels of a network with
                                      dropout (loss_grad, train_step, loss_grad_update): V holds
                                      the sample's dropout mask after the outputs' z, the batch
                                      kernels take the masks as their last parameter; applied
                                      forward and back */
  LLVMValueRef batch_forward;      /* nnc.forwardB, shared by the batch entry points */
  int rolled;                      /* while building a batch kernel: its loops are not unrolled */
  LLVMValueRef scale_offset, scale_mul; /* f64[n_inputs] of the compiled-in input scaling, or NULL */
  const struct CgTables *tables;   /* the tabled groups of a large network (cg_table.c) */
  CgQuantize quant;                /* --quantize: the scheme of the embedded weights */
  struct CgQuant *q;               /* its quantized sets (cg_quant.c), or NULL */
  unsigned isa;                    /* CG_ISA_... bits: instructions the quantized kernels may call */
  CgBf16 bf16;                     /* precision bf16: how the batch kernels' products are made */
} Cg;

/* A counted loop `for (i = 0; i < count; i++)`; body code goes between begin and end. */
typedef struct CgLoop {
  LLVMBasicBlockRef header, body, exit;
  LLVMValueRef i;
} CgLoop;

LLVMValueRef cg_loop_begin(Cg *cg, CgLoop *l, LLVMValueRef count, const char *name);
void cg_loop_end(Cg *cg, CgLoop *l);

LLVMValueRef cg_real(Cg *cg, double v);
LLVMValueRef cg_int(Cg *cg, int64_t v);
LLVMValueRef cg_alloca(Cg *cg, LLVMTypeRef t, const char *name);
/* A private constant global holding init; an array of n elements of type ty (at least one). */
LLVMValueRef cg_private_constant(Cg *cg, LLVMValueRef init, const char *name);
LLVMValueRef cg_const_array(Cg *cg, LLVMTypeRef ty, LLVMValueRef *elems, int64_t n, const char *name);
LLVMValueRef cg_elem(Cg *cg, LLVMValueRef base, LLVMValueRef index); /* &base[index] */
LLVMValueRef cg_load(Cg *cg, LLVMValueRef base, LLVMValueRef index);
void cg_store(Cg *cg, LLVMValueRef base, LLVMValueRef index, LLVMValueRef v);
LLVMValueRef cg_fast(LLVMValueRef inst);                          /* reassociation allowed */
LLVMValueRef cg_fadd(Cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_fsub(Cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_fmul(Cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_fmuladd(Cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c); /* a*b + c */
LLVMValueRef cg_intrinsic(Cg *cg, const char *name, LLVMValueRef *args, unsigned n);
/* A call of an intrinsic that is not overloaded (AMX's tile operations, vdpbf16ps). */
LLVMValueRef cg_call_intrinsic(Cg *cg, const char *name, LLVMValueRef *args, unsigned n);
LLVMValueRef cg_i16(Cg *cg, int64_t v); /* an i16 constant: AMX's tile shapes */
LLVMValueRef cg_fmax(Cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_fmin(Cg *cg, LLVMValueRef a, LLVMValueRef b);
/* count reals (an i64) set to zero / copied, by loops: no memset or memcpy calls. */
void cg_zero(Cg *cg, LLVMValueRef p, LLVMValueRef count);
void cg_copy(Cg *cg, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef count);

/* Vectors of vec_bytes: splat, masked (mask NULL: full) loads and stores, fma. */
int cg_vec_len(const Cg *cg);
LLVMTypeRef cg_vec_type(Cg *cg);
LLVMValueRef cg_splat(Cg *cg, LLVMValueRef s);
LLVMValueRef cg_lane_mask(Cg *cg, int lanes); /* first `lanes` lanes, NULL if all */
LLVMValueRef cg_vload(Cg *cg, LLVMValueRef p, LLVMValueRef mask);
void cg_vstore(Cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask);
LLVMValueRef cg_vfma(Cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);

/* codegen.c: the size of specialised code, in units of one edge set; a network's code is
 * cut into internal functions of about CG_PART_COST each; the kernels of a network of at most
 * CG_INLINE_PARAMS weights are inlined into its entry points. */
enum { CG_PART_COST = 256, CG_GROUP_COST = 8, CG_INLINE_PARAMS = 512 };
int64_t cg_group_cost(const IrGroup *g);
int64_t cg_code_cost(const IrNetwork *n);

/* codegen.c: pieces the batch kernels share with the per-sample code. */
LLVMValueRef cg_begin_function(Cg *cg, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, unsigned n,
                               unsigned noalias_mask, int internal);
void cg_softmax(Cg *cg, LLVMValueRef base, LLVMValueRef size, IrAct act); /* or log_softmax */
/* softmax and log_softmax: computed over the whole group after the elementwise pass */
static inline int cg_normalises(IrAct a) { return a == ACT_SOFTMAX || a == ACT_LOG_SOFTMAX; }
/* v (a real, or a vector of reals across samples) of input i, scaled as the runtime scales a
 * dataset when the module has compiled-in input scaling; v itself otherwise. */
LLVMValueRef cg_scale_input(Cg *cg, LLVMValueRef v, LLVMValueRef i);
/* An output group as its loss sees it: its size and first target column (i64 values,
 * constant or loaded from a table) and whether it is a softmax. */
typedef struct CgOutput {
  LLVMValueRef size, io;
  int softmax;
} CgOutput;
CgOutput cg_output_of(Cg *cg, const IrGroup *g);
void cg_emit_output_loss(Cg *cg, CgOutput o, LLVMValueRef y, LLVMValueRef G, LLVMValueRef t,
                         LLVMValueRef loss, LLVMValueRef z, LLVMValueRef zs);
int cg_keeps_logits(const Cg *cg, const IrGroup *g); /* cross-entropy outputs keep z */
/* Needs ∂L/∂(output) of group src: hidden and output neurons, not inputs and biases. */
int cg_wants_grad(const IrNetwork *n, int src);
int cg_delta_is_direct(Cg *cg, const IrGroup *g);

/* Initialisation: each edge set's values are drawn uniform in [a, b), normal with mean a
 * and deviation b, or are the constant a, from the parameter's index and the seed; or they
 * are the set's literal values, one per edge (read by the caller, not drawn). */
typedef enum CgDraw { CG_DRAW_UNIFORM, CG_DRAW_NORMAL, CG_DRAW_CONSTANT, CG_DRAW_VALUES } CgDraw;
typedef struct CgInitRule {
  CgDraw draw;
  double a, b;
} CgInitRule;
CgInitRule cg_init_rule(const IrNetwork *n, const IrGroup *g, int64_t fan_in, const IrEdges *e);
LLVMValueRef cg_emit_draw(Cg *cg, CgDraw draw, LLVMValueRef a, LLVMValueRef b, LLVMValueRef seed, LLVMValueRef index);

/* cg_dense.c: per-sample kernels of dense edge sets at least one vector wide. */
int cg_dense_vectorisable(const Cg *cg, const IrEdges *e);
void cg_emit_dense_forward(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef params, LLVMValueRef V);
void cg_emit_dense_backward(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef params, LLVMValueRef V,
                            LLVMValueRef G, LLVMValueRef out, LLVMValueRef rate, int sgd, LLVMValueRef xnext);
int cg_prefusable_set(const Cg *cg, const IrGroup *g);

/* cg_batch.c: mini-batch kernels (register-tiled outer products). */
int64_t cg_batch_align(const IrNetwork *n, int vec_bytes);
int64_t cg_batch_reals_per_sample(const IrNetwork *n, int vec_bytes);
int64_t cg_batch_forward_reals_per_sample(const IrNetwork *n, int vec_bytes, int64_t *row_tail);
LLVMValueRef cg_build_forward_body(Cg *cg);
LLVMValueRef cg_build_forward_batch(Cg *cg);
LLVMValueRef cg_build_eval_batch(Cg *cg);
LLVMValueRef cg_build_train_batch(Cg *cg);
LLVMValueRef cg_build_update_batch(Cg *cg);
LLVMValueRef cg_build_deltas_batch(Cg *cg); /* threads' step, owner computes: the deltas of a part */
LLVMValueRef cg_build_rows_batch(Cg *cg);   /* then each part's rows of every weight, stepped */
/* codegen.c: a batch kernel's region in scratch for a call of count samples. */
LLVMValueRef cg_batch_region(Cg *cg, LLVMValueRef scratch, LLVMValueRef count);

/* cg_table.c: the groups of a large network that are walked from tables instead of
 * being written out as code, the tables and the functions that walk them. */
typedef struct CgTables {
  unsigned char *tabled;            /* per group id: 1 if tabled; NULL: no tables */
  int *index;                       /* per group id: its row in the group table, or -1 */
  LLVMValueRef group_i, group_r, edge_i, edge_r, output_i, output_r, values, one;
  int64_t n_outputs;
  unsigned acts, draws, softmax_outputs; /* bits: activations, init draws, (non-)softmax outputs present */
  LLVMValueRef forward, backward, sgd, init, loss, copy;
} CgTables;
int cg_uses_tables(const IrNetwork *n);
unsigned char *cg_table_plan(const IrNetwork *n);
void cg_tables_build(Cg *cg, CgTables *t, int trainable);
void cg_tables_free(CgTables *t);
int cg_is_tabled(const Cg *cg, const IrGroup *g);
int cg_table_run(const Cg *cg, int i, int step, int64_t *lo, int64_t *hi);

/* cg_bf16.c: a product of the batch kernels with bf16 operands and f32 sums (precision bf16):
 * O(r, c) from Σ_k A(r, k)·B(k, c), each row of 16 sums given to finish(ctx, r, c, sums, mask)
 * (mask NULL: all 16 columns exist; rows ≥ rows are never given). */
typedef struct CgBf16Product {
  LLVMValueRef a, a_rs, a_ks;   /* A(r, k) = a[r·a_rs + k·a_ks]; a_ks or a_rs the constant 1 */
  LLVMValueRef b, b_ks;         /* B(k, c) = b[k·b_ks + c] */
  LLVMValueRef rows, cols, k;   /* i64; rows and cols runtime only as whole vectors */
  int64_t rows_const, cols_const; /* ≥ 0: rows / cols are this constant */
  LLVMValueRef work;            /* the workspace: cg_bf16_work's bytes for the call's samples */
} CgBf16Product;
typedef void CgBf16Finish(Cg *cg, const void *ctx, LLVMValueRef r, LLVMValueRef c, LLVMValueRef sums, LLVMValueRef mask);
void cg_bf16_product(Cg *cg, const CgBf16Product *p, CgBf16Finish *finish, const void *ctx);
/* Its operands rounded and packed at dst (p->work unused), as a part of a batch in parts keeps
 * them for cg_bf16_product_parts; returns where B's start. cg_bf16_packed_bytes: their size. */
LLVMValueRef cg_bf16_pack(Cg *cg, const CgBf16Product *p, LLVMValueRef dst);
LLVMValueRef cg_bf16_packed_bytes(Cg *cg, int64_t rows, int64_t cols, LLVMValueRef k);
/* The weights' term over a batch in parts whose operands each part packed (rows × k times
 * k × cols, k its samples): the sums over the parts in order, the row tiles of 16
 * [tile_lo, tile_hi) only; packed(ctx, s, &k) gives part s's pack and its k. */
typedef struct CgBf16Parts {
  LLVMValueRef count;
  LLVMValueRef (*packed)(Cg *cg, const void *ctx, LLVMValueRef s, LLVMValueRef *k);
  const void *ctx;
  int64_t rows, cols;
  LLVMValueRef tile_lo, tile_hi;
} CgBf16Parts;
void cg_bf16_product_parts(Cg *cg, const CgBf16Parts *pp, CgBf16Finish *finish, const void *ctx);
/* The workspace the products of network n need: fixed + per_sample × padded samples bytes
 * (the forward pass alone: cg_bf16_forward_bytes, from its last A on); and what the packs of every edge set's weights' term that a part keeps take. */
void cg_bf16_work(const IrNetwork *n, int64_t *fixed, int64_t *per_sample);
void cg_bf16_kept_work(const IrNetwork *n, int64_t *fixed, int64_t *per_sample);
/* What the forward pass's products touch of that workspace for npad padded samples: the
 * largest packed W and Xᵀ of an edge set, ending with Xᵀ's last row. */
int64_t cg_bf16_forward_bytes(const IrNetwork *n, int64_t npad);

/* cg_quant.c: quantized inference kernels of the dense sets with learned weights. */
int cg_quantized(const Cg *cg, const IrEdges *e);  /* e is read through a quantized kernel */
int cg_has_kernel(const Cg *cg, const IrEdges *e); /* quantized, or a vector kernel of cg_dense.c */
int64_t cg_param_offset(const Cg *cg, const IrEdges *e); /* e's first parameter in what forward reads */
void cg_quant_build(Cg *cg, const void *weights);  /* sets cg->q and cg->embedded */
void cg_quant_free(Cg *cg);
void cg_quant_scaling(Cg *cg, const double *offset, const double *mul, int64_t n); /* after cg_quant_build */
LLVMValueRef cg_quant_scale_input(Cg *cg, LLVMValueRef v, LLVMValueRef i); /* (v − offset)·mul in reals */
void cg_emit_quant_forward(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef V);
void cg_emit_quant_init(Cg *cg, LLVMValueRef params);
/* Batches of a quantized module: cg_quant_block(cg) samples per pass over the weights of the
 * sets cg_quant_multi accepts (int8 with AVX-512 VNNI, bf16 with AVX-512 BF16): 16 where
 * they go through AMX tiles (a tile's 16 rows), 8 otherwise; never more than CG_QUANT_SAMPLES. */
enum { CG_QUANT_SAMPLES = 16 };
int cg_quant_block(const Cg *cg);
int cg_quant_multi(const Cg *cg, const IrEdges *e);
void cg_emit_quant_forward_multi(Cg *cg, const IrGroup *g, const IrEdges *e, const LLVMValueRef *V, LLVMValueRef ahead,
                                 int64_t ahead_bytes); /* ahead: the next block's inputs to prefetch, or NULL */

/* cg_math.c: vectorisable inline approximations, accurate to a few ulp. */
LLVMValueRef cg_exp(Cg *cg, LLVMValueRef x);
LLVMValueRef cg_log(Cg *cg, LLVMValueRef x); /* x > 0 */
/* codegen.c: ∂L/∂z = G·m·f'(y) for a unit with dropout whose output with its mask is ym = y·m:
 * f' is taken at ym·(1 − p), which is y where the unit was kept (m = 1/(1 − p)); where it was
 * dropped m is 0 and so is the delta. The per-sample and the batch kernels' one rule. */
LLVMValueRef cg_dropout_delta(Cg *cg, const IrGroup *g, LLVMValueRef G, LLVMValueRef m, LLVMValueRef ym);
/* An activation's forward rule, and its derivative expressed through its output y. */
LLVMValueRef cg_activate(Cg *cg, IrAct act, double param, LLVMValueRef z);
LLVMValueRef cg_derivative(Cg *cg, IrAct act, double param, LLVMValueRef y);
/* The same with the activation's parameter a value computed at run time (a real). */
LLVMValueRef cg_activate_with(Cg *cg, IrAct act, LLVMValueRef param, LLVMValueRef z);
LLVMValueRef cg_derivative_with(Cg *cg, IrAct act, LLVMValueRef param, LLVMValueRef y);

#endif
