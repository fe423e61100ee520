/* onnx.c — the ONNX front-end: reads a model.onnx and writes the same network in .nn.
 * Consumes: the bytes of an ONNX model (ModelProto of onnx.proto, read by protobuf-c),
 * operator sets up to 21, the operators of feed-forward networks (see docs/onnx.md).
 * Produces: the .nn source of the network (groups with explicit sums, implicit biases) and
 * its parameters; the driver parses and checks that source like any other, and
 * onnx_params then lays the parameters out in the order of the checked IR.
 *
 * Every tensor of the graph is either a constant (initializers, Constant nodes) or a linear
 * form of group outputs: Σ M_k · group_k + bias, one matrix per source group. Gemm, MatMul,
 * Add, Sub, Mul and Div by constants, Concat, BatchNormalization, Dropout, Identity, Flatten
 * and Reshape transform forms; an activation turns a form into a new group (its edge sets
 * are the form's matrices, its bias the form's bias), whose output is the identity form of
 * that group. Sub, Add, Mul and Div of a graph input before a layer reads it are its input
 * scaling (onnx_input_scaling), which the model applies in double, compiled in with the
 * weights. A sample is the tensor without its first axis (the batch axis) when its rank is 2
 * or more, the whole tensor otherwise.
 * The first error ends the import: one message, exit status 1. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "onnx.h"
#include "onnx.pb-c.h"

#define ONNX_MAX_RANK 8
#define ONNX_MAX_DEPTH 32                    /* nesting of messages (graphs in attributes) */
#define ONNX_MAX_WIDTH (1 << 24)             /* values in one sample of a tensor */
#define ONNX_MAX_WEIGHTS ((int64_t)1 << 25)  /* matrix entries the import may hold */
#define ONNX_MAX_PARAMS ((int64_t)1 << 26)   /* parameters of the imported network, identities included */
/* What protobuf-c may allocate for a file of len bytes: float tensors need their own size,
 * packed int64 sizes up to 8 times theirs, plus room for names. */
#define ONNX_PROTOBUF_BUDGET(len) (((size_t)64 << 20) + 8 * (len))

/* --- values ------------------------------------------------------------------------- */

typedef struct Shape {
  int rank;
  int64_t dim[ONNX_MAX_RANK]; /* -1: not fixed (only the batch axis may be) */
} Shape;

typedef struct Term {
  int group;
  double *m; /* width × group size, row-major; NULL: the identity */
} Term;

typedef struct Value {
  const char *name;
  int is_const;
  Shape shape;
  int64_t width;  /* values per sample */
  double *data;   /* constant: every element, row-major */
  int64_t count;
  Term *terms;    /* form: one term per source group */
  int n_terms;
  double *bias;   /* form: width entries */
  int positive;   /* Greater(form, 0): a boolean, read only by a Cast to the model's reals */
  double *scale_off, *scale_mul; /* an input group's values under input scaling (x − off)·mul, not
                                    yet read by a layer; NULL: none (see "input scaling" below) */
  int wide;       /* cast to double in a float model: read only by Sub, Add, Mul, Div and a Cast back */
} Value;

typedef struct Group {
  const char *name; /* a .nn identifier */
  IrRole role;
  int size;
  IrAct act;
  double act_param;
  Term *terms;
  int n_terms;
  double *bias;
  int node;   /* the node whose activation made it; -1 */
  int output; /* its position among the graph's outputs; -1 */
  int live;   /* feeds an output */
  int feeds;  /* live groups fed by it */
  int id;     /* its id in the checked IR (declaration order); -1: not declared */
  double *scale_off, *scale_mul; /* an input group: the scaling its readers see; NULL: none */
  int read_raw; /* an input group read unscaled */
} Group;

struct OnnxModel {
  const char *path;
  FILE *err;
  jmp_buf fail;
  Arena arena;
  Onnx__ModelProto *proto;
  int opset;
  int real_bytes;
  Value **table; /* open addressing by name */
  size_t table_cap, n_values;
  Group *groups;
  int n_groups, groups_cap;
  int64_t weights, work;
  const char **names; /* the set of group names */
  size_t names_cap, n_names;
  const Onnx__NodeProto *node; /* the node being read, for messages */
  int node_index;
  char *source;
  size_t source_len;
  int *decl;     /* group index of each declared group, in declaration order */
  int n_decl;
  int scale_mode;               /* enum nnc_scale of the input scaling; NNC_SCALE_NONE: none */
  double *scale_off, *scale_mul; /* its offsets and multipliers, one per input column */
};

static const char *str(const char *s) { return s ? s : ""; }

/* --- messages ------------------------------------------------------------------------ */

static _Noreturn void give_up(OnnxModel *m) { longjmp(m->fail, 1); }

/* `model.onnx: error: ...` about the file as a whole. */
static _Noreturn void __attribute__((format(printf, 2, 3))) model_error(OnnxModel *m, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(m->err, "%s: error: ", m->path);
  vfprintf(m->err, fmt, ap);
  fputc('\n', m->err);
  va_end(ap);
  give_up(m);
}

/* `model.onnx: node 'fc1' (Gemm): ...` about the node being read (its index if unnamed). */
static _Noreturn void __attribute__((format(printf, 2, 3))) node_error(OnnxModel *m, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const char *name = str(m->node->name);
  if (name[0])
    fprintf(m->err, "%s: node '%s' (%s): ", m->path, name, str(m->node->op_type));
  else
    fprintf(m->err, "%s: node %d (%s): ", m->path, m->node_index, str(m->node->op_type));
  vfprintf(m->err, fmt, ap);
  fputc('\n', m->err);
  va_end(ap);
  give_up(m);
}

static void *alloc(OnnxModel *m, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) model_error(m, "the model is too large to import");
  return arena_alloc(&m->arena, n * size);
}

/* A matrix of rows × cols doubles, counted against the import's bound. */
static double *new_matrix(OnnxModel *m, int64_t rows, int64_t cols) {
  m->weights += rows * cols;
  if (rows * cols > ONNX_MAX_WEIGHTS || m->weights > ONNX_MAX_WEIGHTS)
    model_error(m, "the model is too large to import (more than %lld weights in its layers)",
                (long long)ONNX_MAX_WEIGHTS);
  return alloc(m, (size_t)(rows * cols), sizeof(double));
}

/* --- the protobuf ---------------------------------------------------------------------- */

/* Reads a varint at *p (below end); 0 if the bytes end first or it is too long. */
static int read_varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    unsigned char b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 1;
  }
  return 0;
}

/* The message types onnx.proto nests recursively, and their message-typed fields. */
typedef enum Msg { M_NONE, M_MODEL, M_GRAPH, M_NODE, M_ATTR, M_FUNC, M_VALUE_INFO, M_TYPE, M_TYPE_ELEM, M_TYPE_MAP } Msg;

static Msg field_type(Msg msg, uint64_t field) {
  switch (msg) {
  case M_MODEL: return field == 7 ? M_GRAPH : field == 25 ? M_FUNC : M_NONE;
  case M_FUNC: return field == 7 ? M_NODE : M_NONE;
  case M_GRAPH: return field == 1 ? M_NODE : field == 11 || field == 12 || field == 13 ? M_VALUE_INFO : M_NONE;
  case M_NODE: return field == 5 ? M_ATTR : M_NONE;
  case M_ATTR: return field == 6 || field == 11 ? M_GRAPH : field == 14 || field == 15 ? M_TYPE : M_NONE;
  case M_VALUE_INFO: return field == 2 ? M_TYPE : M_NONE;
  case M_TYPE: return field == 4 || field == 9 ? M_TYPE_ELEM : field == 5 ? M_TYPE_MAP : M_NONE;
  case M_TYPE_ELEM: return field == 1 ? M_TYPE : M_NONE;
  case M_TYPE_MAP: return field == 2 ? M_TYPE : M_NONE;
  default: return M_NONE;
  }
}

/* 1 if the messages of the recursive types nest at most ONNX_MAX_DEPTH deep; protobuf-c
 * itself has no bound and would exhaust the stack. Malformed bytes end the walk: the real
 * parser reports them. Each byte is read once. */
static int nesting_ok(const unsigned char *p, const unsigned char *end, Msg msg, int depth) {
  if (depth > ONNX_MAX_DEPTH) return 0;
  while (p < end) {
    uint64_t key, len;
    if (!read_varint(&p, end, &key)) return 1;
    switch (key & 7) {
    case 0: if (!read_varint(&p, end, &len)) return 1; break;
    case 1: p += end - p < 8 ? end - p : 8; break;
    case 5: p += end - p < 4 ? end - p : 4; break;
    case 2:
      if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p)) return 1;
      Msg inner = field_type(msg, key >> 3);
      if (inner != M_NONE && !nesting_ok(p, p + len, inner, depth + 1)) return 0;
      p += len;
      break;
    default: return 1;
    }
  }
  return 1;
}

/* protobuf-c's memory, within a budget: a file of many tiny messages (two bytes each)
 * would otherwise unpack into a hundred times its size. */
typedef struct Budget {
  size_t left;
  int exceeded;
} Budget;

static void *budget_alloc(void *data, size_t size) {
  Budget *b = data;
  if (size > b->left) {
    b->exceeded = 1;
    return NULL;
  }
  b->left -= size;
  return malloc(size);
}

static void budget_free(void *data, void *p) {
  (void)data;
  free(p);
}

static ProtobufCAllocator budget_allocator(Budget *b) {
  ProtobufCAllocator a = {budget_alloc, budget_free, b};
  return a;
}

static void parse_model(OnnxModel *m, const unsigned char *bytes, size_t len) {
  if (len == 0) model_error(m, "not a valid ONNX model (the file is empty)");
  if (!nesting_ok(bytes, bytes + len, M_MODEL, 0))
    model_error(m, "not a valid ONNX model (messages nested more than %d deep)", ONNX_MAX_DEPTH);
  Budget budget = {ONNX_PROTOBUF_BUDGET(len), 0};
  ProtobufCAllocator a = budget_allocator(&budget);
  m->proto = onnx__model_proto__unpack(&a, len, bytes);
  if (budget.exceeded)
    model_error(m, "the model is too complex to read (unpacking it would take more than %zu MiB)",
                ONNX_PROTOBUF_BUDGET(len) >> 20);
  if (!m->proto) model_error(m, "not a valid ONNX model (truncated or malformed protobuf)");
  if (!m->proto->graph) model_error(m, "not a valid ONNX model (it has no graph)");
}

/* The version of the default operator set (domain "" or "ai.onnx"), which must be 9..21,
 * imported once: of two versions (Softmax's axis means another thing before 13) the last
 * was taken silently. A version is clamped into 0..1000 before it is an int. */
static void check_opset(OnnxModel *m) {
  m->opset = -1;
  for (size_t i = 0; i < m->proto->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->proto->opset_import[i];
    const char *d = str(o->domain);
    if (!(d[0] == 0 || strcmp(d, "ai.onnx") == 0) || !o->has_version) continue;
    int version = (int)(o->version > 1000 ? 1000 : o->version < 0 ? 0 : o->version);
    if (m->opset >= 0 && version != m->opset)
      model_error(m, "not a valid ONNX model (it imports the default operator set twice, versions %d and %d)",
                  m->opset, version);
    m->opset = version;
  }
  if (m->opset < 0) model_error(m, "not a valid ONNX model (it imports no version of the default operator set)");
  if (m->opset < 1 || m->opset > 21)
    model_error(m, "operator set version %d is not supported (nnc reads versions 9 to 21, and older ones "
                "for operators that have not changed since)", m->opset);
}

/* --- the value table --------------------------------------------------------------------- */

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static Value **slot_of(Value **table, size_t cap, const char *name) {
  for (size_t i = hash_name(name) & (cap - 1);; i = (i + 1) & (cap - 1))
    if (!table[i] || strcmp(table[i]->name, name) == 0) return &table[i];
}

static Value *lookup(OnnxModel *m, const char *name) {
  return m->table_cap ? *slot_of(m->table, m->table_cap, name) : NULL;
}

/* Names the value; a name defined twice is an error (graphs are in single assignment). */
static void define(OnnxModel *m, const char *name, Value *v) {
  if (!name[0]) return; /* an unused optional output */
  if (2 * (m->n_values + 1) > m->table_cap) {
    size_t cap = m->table_cap ? 2 * m->table_cap : 64;
    Value **t = alloc(m, cap, sizeof *t);
    for (size_t i = 0; i < m->table_cap; i++)
      if (m->table[i]) *slot_of(t, cap, m->table[i]->name) = m->table[i];
    m->table = t;
    m->table_cap = cap;
  }
  Value **slot = slot_of(m->table, m->table_cap, name);
  if (*slot && m->node) node_error(m, "tensor '%s' is defined twice (a graph assigns each name once)", name);
  if (*slot) model_error(m, "not a valid ONNX model (tensor '%s' is defined twice)", name);
  v->name = name;
  *slot = v;
  m->n_values++;
}

/* The product of the sizes from axis `from` on; past 2^38 it stays at 2^38, which every
 * bound refuses (sizes are at most 2^24, so the product cannot overflow). */
static int64_t shape_elements(const Shape *s, int from) {
  int64_t n = 1;
  for (int i = from; i < s->rank; i++)
    if ((n *= s->dim[i]) > ((int64_t)1 << 38)) n = (int64_t)1 << 38;
  return n;
}

static int batched(const Shape *s) { return s->rank >= 2; }

/* The values per sample: every axis but the batch axis. */
static int64_t sample_width(const Shape *s) { return shape_elements(s, batched(s) ? 1 : 0); }

static void shape_text(const Shape *s, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < s->rank && n < cap; i++)
    n += s->dim[i] < 0 ? (size_t)snprintf(buf + n, cap - n, i ? ", N" : "N")
                       : (size_t)snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)s->dim[i]);
  if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* --- constants ------------------------------------------------------------------------- */

static double raw_element(const uint8_t *p, int32_t type) {
  uint64_t bits = 0;
  int size = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4 : 8;
  for (int i = 0; i < size; i++) bits |= (uint64_t)p[i] << (8 * i);
  if (type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
    uint32_t b = (uint32_t)bits;
    float f;
    memcpy(&f, &b, 4);
    return f;
  }
  if (type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
    double d;
    memcpy(&d, &bits, 8);
    return d;
  }
  return type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? (double)(int32_t)(uint32_t)bits : (double)(int64_t)bits;
}

static const char *type_name(int32_t type) {
  static const char *const names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                      "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
                                      "complex128", "bfloat16"};
  return type >= 0 && type < (int32_t)(sizeof names / sizeof names[0]) ? names[type] : "unknown";
}

static int element_bytes(int32_t type) {
  switch (type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return 4;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return 8;
  default: return 0;
  }
}

/* The elements of t, typed field or raw_data, as doubles; count must match its dims. */
static void tensor_data(OnnxModel *m, const Onnx__TensorProto *t, Value *v, const char *what) {
  int32_t type = t->data_type;
  int size = element_bytes(type);
  if (!size)
    model_error(m, "%s '%s' holds %s; nnc reads float, double, int32 and int64 tensors", what, str(t->name), type_name(type));
  if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    model_error(m, "%s '%s' keeps its data in an external file, which nnc does not read", what, str(t->name));
  if (t->segment) model_error(m, "%s '%s' is segmented, which nnc does not read", what, str(t->name));
  size_t n = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? t->n_float_data
           : type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
           : type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? t->n_int32_data : t->n_int64_data;
  if (t->has_raw_data) n = t->raw_data.len / (size_t)size;
  if ((int64_t)n != v->count || (t->has_raw_data && t->raw_data.len % (size_t)size))
    model_error(m, "not a valid ONNX model (%s '%s' has %zu elements for its shape of %lld)", what, str(t->name), n,
                (long long)v->count);
  v->data = alloc(m, n, sizeof(double));
  for (size_t i = 0; i < n; i++)
    v->data[i] = t->has_raw_data ? raw_element(t->raw_data.data + i * (size_t)size, type)
               : type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? t->float_data[i]
               : type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->double_data[i]
               : type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? t->int32_data[i] : (double)t->int64_data[i];
}

static Value *constant_of(OnnxModel *m, const Onnx__TensorProto *t, const char *what) {
  Value *v = alloc(m, 1, sizeof *v);
  v->is_const = 1;
  if (t->n_dims > ONNX_MAX_RANK)
    model_error(m, "%s '%s' has %zu axes; nnc reads at most %d", what, str(t->name), t->n_dims, ONNX_MAX_RANK);
  v->shape.rank = (int)t->n_dims;
  v->count = 1;
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] < 0 || t->dims[i] > ONNX_MAX_WIDTH || (v->count *= t->dims[i]) > ONNX_MAX_WEIGHTS)
      model_error(m, "%s '%s' is too large or has a negative dimension", what, str(t->name));
    v->shape.dim[i] = t->dims[i];
  }
  v->width = sample_width(&v->shape);
  tensor_data(m, t, v, what);
  return v;
}

static void read_initializers(OnnxModel *m) {
  const Onnx__GraphProto *g = m->proto->graph;
  if (g->n_sparse_initializer) model_error(m, "sparse initializers are not supported");
  for (size_t i = 0; i < g->n_initializer; i++)
    define(m, str(g->initializer[i]->name), constant_of(m, g->initializer[i], "initializer"));
}

/* --- groups and forms ---------------------------------------------------------------- */

static int is_keyword(const char *s) {
  static const char *const kw[] = {"network", "input", "bias", "layer", "neuron", "output", "train", "fixed"};
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (strcmp(s, kw[i]) == 0) return 1;
  return 0;
}

/* The slot of name in the set of group names (open addressing; a power-of-two capacity). */
static const char **name_slot(const char **set, size_t cap, const char *name) {
  for (size_t i = hash_name(name) & (cap - 1);; i = (i + 1) & (cap - 1))
    if (!set[i] || strcmp(set[i], name) == 0) return &set[i];
}

static int name_taken(const OnnxModel *m, const char *name) {
  return m->names_cap && *name_slot(m->names, m->names_cap, name);
}

static void take_name(OnnxModel *m, const char *name) {
  if (2 * (m->n_names + 1) > m->names_cap) {
    size_t cap = m->names_cap ? 2 * m->names_cap : 64;
    const char **set = alloc(m, cap, sizeof *set);
    for (size_t i = 0; i < m->names_cap; i++)
      if (m->names[i]) *name_slot(set, cap, m->names[i]) = m->names[i];
    m->names = set;
    m->names_cap = cap;
  }
  *name_slot(m->names, m->names_cap, name) = name;
  m->n_names++;
}

/* The ONNX name as a .nn identifier: other characters become '_', a leading digit gets a
 * prefix, a keyword a trailing '_'; at most 64 characters of the name are kept. */
static char *sanitized(OnnxModel *m, const char *onnx_name) {
  size_t len = strlen(onnx_name), n = 0;
  if (len > 64) len = 64;
  char *base = alloc(m, len + 32, 1);
  if (len == 0 || (onnx_name[0] >= '0' && onnx_name[0] <= '9')) base[n++] = 'v', base[n++] = '_';
  for (size_t i = 0; i < len; i++) {
    char c = onnx_name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    base[n++] = ok ? c : '_';
  }
  if (is_keyword(base)) base[n++] = '_';
  return base;
}

/* A group's name: the sanitized ONNX name, made unique with a suffix _2, _3, ... */
static const char *identifier(OnnxModel *m, const char *onnx_name) {
  char *base = sanitized(m, onnx_name);
  const char *name = base;
  if (name_taken(m, base)) {
    size_t n = strlen(base) + 24;
    char *numbered = alloc(m, n, 1);
    for (int k = 2;; k++) {
      snprintf(numbered, n, "%s_%d", base, k);
      if (!name_taken(m, numbered)) break;
    }
    name = numbered;
  }
  take_name(m, name);
  return name;
}

static int new_group(OnnxModel *m, const char *onnx_name, IrRole role, int64_t size) {
  if (size < 1 && m->node) node_error(m, "its result is empty");
  if (size < 1) model_error(m, "tensor '%s' is empty", onnx_name);
  if (m->n_groups == m->groups_cap) {
    int cap = m->groups_cap ? 2 * m->groups_cap : 16;
    Group *g = alloc(m, (size_t)cap, sizeof *g);
    if (m->n_groups) memcpy(g, m->groups, sizeof *g * (size_t)m->n_groups);
    m->groups = g;
    m->groups_cap = cap;
  }
  Group *g = &m->groups[m->n_groups];
  memset(g, 0, sizeof *g);
  g->name = identifier(m, onnx_name);
  g->role = role;
  g->size = (int)size;
  g->node = g->output = g->id = -1;
  return m->n_groups++;
}

/* The form of a group's output: the identity from it, no bias. */
static Value *group_value(OnnxModel *m, int group, const Shape *shape) {
  Value *v = alloc(m, 1, sizeof *v);
  v->shape = *shape;
  v->width = m->groups[group].size;
  v->terms = alloc(m, 1, sizeof(Term));
  v->terms[0].group = group;
  v->n_terms = 1;
  v->bias = alloc(m, (size_t)v->width, sizeof(double));
  return v;
}

/* The group whose output v is exactly (identity, no bias), or -1. */
static int plain_group(const OnnxModel *m, const Value *v) {
  if (v->is_const || v->n_terms != 1 || v->terms[0].m || m->groups[v->terms[0].group].size != v->width) return -1;
  for (int64_t i = 0; i < v->width; i++)
    if (v->bias[i] != 0) return -1;
  return v->terms[0].group;
}

/* The term's matrix written out (the identity made explicit). */
static double *term_matrix(OnnxModel *m, const Term *t, int64_t rows) {
  if (t->m) return t->m;
  int64_t n = m->groups[t->group].size;
  double *id = new_matrix(m, rows, n);
  for (int64_t i = 0; i < n; i++) id[i * n + i] = 1;
  return id;
}

/* A new group computing act(v); the value of its output. */
static Value *materialise(OnnxModel *m, const Value *v, IrAct act, double param, const char *name) {
  if (v->n_terms == 0) node_error(m, "its input is a constant; nnc computes only what depends on the inputs");
  int g = new_group(m, name, ROLE_HIDDEN, v->width);
  Group *gr = &m->groups[g];
  gr->act = act;
  gr->act_param = param;
  gr->terms = v->terms;
  gr->n_terms = v->n_terms;
  gr->bias = v->bias;
  gr->node = m->node_index;
  return group_value(m, g, &v->shape);
}

/* The multiply-adds one import may spend folding matrices (Gemm after Gemm, Gemm after
 * Concat): some seconds at most. */
#define ONNX_MAX_WORK ((int64_t)1 << 33)

/* out (rows × cols) += w (rows × k) · src (k × cols), visiting only src's nonzero entries. */
static void multiply(OnnxModel *m, double *out, const double *w, const double *src, int64_t rows, int64_t k,
                     int64_t cols) {
  int64_t *first = alloc(m, (size_t)k + 1, sizeof(int64_t)), nnz = 0;
  for (int64_t i = 0; i < k * cols; i++) nnz += src[i] != 0;
  int64_t *col = alloc(m, (size_t)nnz, sizeof(int64_t));
  for (int64_t r = 0, n = 0; r < k; r++) {
    first[r] = n;
    for (int64_t j = 0; j < cols; j++)
      if (src[r * cols + j] != 0) col[n++] = j;
    first[r + 1] = n;
  }
  m->work += rows * (nnz + k);
  if (m->work > ONNX_MAX_WORK)
    model_error(m, "the model is too large to import (folding its linear layers takes too long)");
  for (int64_t i = 0; i < rows; i++)
    for (int64_t r = 0; r < k; r++) {
      double a = w[i * k + r];
      if (a == 0) continue;
      for (int64_t n = first[r]; n < first[r + 1]; n++) out[i * cols + col[n]] += a * src[r * cols + col[n]];
    }
}

/* W (rows × v->width) applied to the form v: W·M for every term, W·bias. */
static Value *apply_matrix(OnnxModel *m, const double *w, int64_t rows, const Value *v, const Shape *shape) {
  if (rows < 1) node_error(m, "its result is empty");
  Value *r = alloc(m, 1, sizeof *r);
  r->shape = *shape;
  r->width = rows;
  r->n_terms = v->n_terms;
  r->terms = alloc(m, (size_t)v->n_terms, sizeof(Term));
  int64_t k_dim = v->width;
  for (int t = 0; t < v->n_terms; t++) {
    int64_t cols = m->groups[v->terms[t].group].size;
    const double *src = v->terms[t].m;
    double *out = new_matrix(m, rows, cols);
    if (src) multiply(m, out, w, src, rows, k_dim, cols);
    else memcpy(out, w, sizeof(double) * (size_t)(rows * cols)); /* W·I */
    r->terms[t] = (Term){v->terms[t].group, out};
  }
  r->bias = alloc(m, (size_t)rows, sizeof(double));
  for (int64_t i = 0; i < rows; i++)
    for (int64_t k = 0; k < k_dim; k++) r->bias[i] += w[i * k_dim + k] * v->bias[k];
  return r;
}

/* Adds the term (rows placed by map: row i of t goes to row map[i] of r) into r, merging it
 * with r's term from the same group. map NULL: row i to row i. */
static void add_term(OnnxModel *m, Value *r, const Term *t, int64_t t_rows, const int64_t *map) {
  int64_t cols = m->groups[t->group].size;
  int k = 0;
  while (k < r->n_terms && r->terms[k].group != t->group) k++;
  if (k == r->n_terms) {
    r->terms[r->n_terms++] = (Term){t->group, new_matrix(m, r->width, cols)};
  } else if (!r->terms[k].m) {
    r->terms[k].m = term_matrix(m, &r->terms[k], r->width);
  }
  double *dst = r->terms[k].m;
  for (int64_t i = 0; i < t_rows; i++) {
    int64_t row = map ? map[i] : i;
    if (!t->m) dst[row * cols + i] += 1;
    else
      for (int64_t j = 0; j < cols; j++) dst[row * cols + j] += t->m[i * cols + j];
  }
}

static Value *empty_form(OnnxModel *m, const Shape *shape, int max_terms) {
  Value *r = alloc(m, 1, sizeof *r);
  r->shape = *shape;
  r->width = sample_width(shape);
  r->terms = alloc(m, (size_t)max_terms, sizeof(Term));
  r->bias = alloc(m, (size_t)r->width, sizeof(double));
  return r;
}

/* --- input scaling ---------------------------------------------------------------------- */

/* Sub, Add, Mul and Div of a constant applied to a graph input before any layer reads it are
 * the network's input scaling, x' = (x − offset)·mul per input, which nnc computes in double
 * and rounds once (as nnc's own export writes it: Cast to double, Sub, Mul, Cast back), so an
 * export comes back with the same outputs bit for bit. The scaling rides on the value until an
 * operator that is not one of these reads it; it then becomes the input group's scaling, which
 * every reader of the group sees: an input read both scaled and unscaled, or scaled in two
 * ways, is refused. Casts to double around it (and the Div and Add of a target scaling after the
 * output layer) are read as nnc computes: in double, rounded once. */

/* The operators that pass a pending scaling (or a value in double) on to their result. */
static int passes_scaling(const char *op) {
  static const char *const ops[] = {"Identity", "Cast", "Flatten", "Reshape", "Dropout", "Sub", "Add", "Mul", "Div"};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(op, ops[i]) == 0) return 1;
  return 0;
}

/* The input group whose values v is (identity, no bias), or -1. */
static int input_group_of(const OnnxModel *m, const Value *v) {
  int g = plain_group(m, v);
  return g >= 0 && m->groups[g].role == ROLE_INPUT ? g : -1;
}

static int same_reals(const double *a, const double *b, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* A message about the node being read, or about the graph's outputs when none is. */
static _Noreturn void __attribute__((format(printf, 2, 3))) error_here(OnnxModel *m, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (m->node) node_error(m, "%s", buf);
  model_error(m, "%s", buf);
}

/* v as a layer reads it: a pending scaling becomes its input group's; an input read without
 * one is marked so. A value still in double is refused. */
static Value *settled(OnnxModel *m, Value *v) {
  if (v->wide)
    error_here(m, "input '%s' is a value cast to double; nnc computes a float model in float (it reads a cast to "
               "double only around a scaling: Sub, Add, Mul or Div by constants, then a Cast back)", v->name);
  int g = input_group_of(m, v);
  if (g < 0) return v;
  Group *gr = &m->groups[g];
  if (!v->scale_mul) {
    if (gr->scale_mul)
      error_here(m, "input '%s' is read unscaled here and scaled elsewhere; nnc scales each input once, for "
                 "every reader", gr->name);
    gr->read_raw = 1;
    return v;
  }
  if (gr->read_raw || (gr->scale_mul && !(same_reals(gr->scale_off, v->scale_off, v->width) &&
                                          same_reals(gr->scale_mul, v->scale_mul, v->width))))
    error_here(m, "input '%s' is scaled here and read %s elsewhere; nnc scales each input once, for every reader",
               gr->name, gr->read_raw ? "unscaled" : "with another scaling");
  gr->scale_off = v->scale_off;
  gr->scale_mul = v->scale_mul;
  Value *r = alloc(m, 1, sizeof *r);
  *r = *v;
  r->scale_off = r->scale_mul = NULL;
  return r;
}

/* x' = (x − off)·mul followed by `op` (one of - + * /, "r-" for c − x') with c: a new
 * offset and multiplier, computed in double. */
static Value *scaled_input(OnnxModel *m, const Value *v, const char *op, const double *c) {
  Value *r = alloc(m, 1, sizeof *r);
  *r = *v;
  r->scale_off = new_matrix(m, 2, v->width); /* counted as weights: a chain of them is bounded */
  r->scale_mul = r->scale_off + v->width;
  for (int64_t i = 0; i < v->width; i++) {
    double off = v->scale_mul ? v->scale_off[i] : 0, mul = v->scale_mul ? v->scale_mul[i] : 1;
    if (op[0] == '-' && mul == 1) off += c[i];
    else if (op[0] == '-') off += c[i] / mul;
    else if (op[0] == '+') off -= c[i] / mul;
    else if (op[0] == '*') mul *= c[i];
    else if (op[0] == '/') mul /= c[i];
    else off += c[i] / mul, mul = -mul; /* c − (x − off)·mul = (x − (off + c/mul))·(−mul) */
    if (!isfinite(off) || !isfinite(mul))
      node_error(m, "scaling input %lld by %g gives a scaling that is not finite", (long long)i, c[i]);
    r->scale_off[i] = off, r->scale_mul[i] = mul;
  }
  return r;
}

/* --- node inputs and attributes ---------------------------------------------------------- */

/* The node's attribute `name`, or NULL; one given twice (LeakyRelu with two alphas, of
 * which the first was taken) is an invalid model. */
static const Onnx__AttributeProto *attribute(OnnxModel *m, const char *name) {
  const Onnx__AttributeProto *found = NULL;
  for (size_t i = 0; i < m->node->n_attribute; i++)
    if (strcmp(str(m->node->attribute[i]->name), name) == 0) {
      if (found) node_error(m, "not a valid ONNX model (attribute '%s' is given twice)", name);
      found = m->node->attribute[i];
    }
  return found;
}

static int64_t int_attr(OnnxModel *m, const char *name, int64_t dflt) {
  const Onnx__AttributeProto *a = attribute(m, name);
  if (!a) return dflt;
  if (!a->has_i) node_error(m, "attribute '%s' is not an integer", name);
  return a->i;
}

static double float_attr(OnnxModel *m, const char *name, double dflt) {
  const Onnx__AttributeProto *a = attribute(m, name);
  if (!a) return dflt;
  if (!a->has_f) node_error(m, "attribute '%s' is not a number", name);
  return a->f;
}

/* The node's input i; it must exist and have been defined. */
static Value *input(OnnxModel *m, size_t i) {
  if (i >= m->node->n_input || !str(m->node->input[i])[0]) node_error(m, "input %zu is missing", i + 1);
  Value *v = lookup(m, m->node->input[i]);
  if (!v)
    node_error(m, "input '%s' is not defined before the node (the graph must be in topological order)", m->node->input[i]);
  if (v->positive && strcmp(str(m->node->op_type), "Cast") != 0)
    node_error(m, "input '%s' is the boolean of a Greater; nnc reads it only through a Cast to the model's "
               "reals (a step unit)", v->name);
  return passes_scaling(str(m->node->op_type)) ? v : settled(m, v);
}

static Value *form_input(OnnxModel *m, size_t i) {
  Value *v = input(m, i);
  if (v->is_const) node_error(m, "input '%s' is a constant; nnc computes only what depends on the inputs", v->name);
  return v;
}

static Value *const_input(OnnxModel *m, size_t i, const char *role) {
  Value *v = input(m, i);
  if (!v->is_const) node_error(m, "%s '%s' must be a constant (an initializer or a Constant node)", role, v->name);
  return v;
}

static void check_arity(OnnxModel *m, size_t lo, size_t hi) {
  if ((m->node->n_input < lo || m->node->n_input > hi) && lo == hi)
    node_error(m, "has %zu inputs; expected %zu", m->node->n_input, lo);
  if (m->node->n_input < lo || m->node->n_input > hi)
    node_error(m, "has %zu inputs; expected %zu to %zu", m->node->n_input, lo, hi);
  if (m->node->n_output < 1 || !str(m->node->output[0])[0]) node_error(m, "has no output");
}

static void set_output(OnnxModel *m, Value *v) {
  Value *copy = alloc(m, 1, sizeof *copy);
  *copy = *v;
  define(m, m->node->output[0], copy);
}

/* Normalises an axis of a tensor of rank r (negative counts from the end). */
static int axis_of(OnnxModel *m, int64_t axis, int rank) {
  if (axis < -rank || axis >= (rank ? rank : 1))
    node_error(m, "axis %lld is out of range for a tensor of %d axes", (long long)axis, rank);
  return (int)(axis < 0 ? axis + rank : axis);
}

/* --- broadcasting a constant over a sample ------------------------------------------------ */

/* The constant c broadcast (numpy rules) over one sample of a tensor of shape s, as width
 * values; refused if it would grow s or vary along s's batch axis. */
static double *broadcast_const(OnnxModel *m, const Value *c, const Shape *s, const char *what) {
  char a[128], b[128];
  shape_text(&c->shape, a, sizeof a);
  shape_text(s, b, sizeof b);
  if (c->shape.rank > s->rank)
    node_error(m, "%s of shape %s has more axes than the value %s it is added to", what, a, b);
  int off = s->rank - c->shape.rank;
  for (int i = 0; i < c->shape.rank; i++) {
    int64_t cd = c->shape.dim[i], sd = s->dim[off + i];
    if (cd == 1) continue;
    if (off + i == 0 && batched(s)) node_error(m, "%s of shape %s varies along the batch axis of %s", what, a, b);
    if (cd != sd) node_error(m, "%s of shape %s does not broadcast to %s", what, a, b);
  }
  int64_t width = sample_width(s);
  double *out = alloc(m, (size_t)width, sizeof(double));
  int first = batched(s) ? 1 : 0;
  for (int64_t e = 0; e < width; e++) {
    int64_t rest = e, ci = 0, stride = 1;
    for (int ax = s->rank - 1; ax >= first; ax--) {
      int64_t idx = rest % s->dim[ax];
      rest /= s->dim[ax];
      int cax = ax - off;
      if (cax < 0) continue;
      if (c->shape.dim[cax] != 1) ci += idx * stride;
      stride *= c->shape.dim[cax];
    }
    out[e] = c->data[ci];
  }
  return out;
}

/* --- operators ------------------------------------------------------------------------------ */

static void op_identity(OnnxModel *m) {
  check_arity(m, 1, 1);
  set_output(m, input(m, 0));
}

static void op_activation(OnnxModel *m, IrAct act, double param) {
  check_arity(m, 1, 1);
  set_output(m, materialise(m, form_input(m, 0), act, param, m->node->output[0]));
}

/* Greater(z, 0): z > 0 as a boolean, which Cast turns into a step unit. */
static void op_greater(OnnxModel *m) {
  check_arity(m, 2, 2);
  Value *z = form_input(m, 0), *b = const_input(m, 1, "B");
  if (b->count != 1 || b->data[0] != 0)
    node_error(m, "B '%s' is not the constant 0 (nnc reads Greater as a step unit, z > 0)", b->name);
  Value *r = alloc(m, 1, sizeof *r);
  *r = *z;
  r->positive = 1;
  set_output(m, r);
}

/* Cast of Greater(z, 0) to the model's reals: a step unit (1 where z > 0, else 0); a Cast
 * of a value to the type it has is nothing; in a float model, a Cast to double and back
 * brackets a scaling computed in double. */
static void op_cast(OnnxModel *m) {
  check_arity(m, 1, 1);
  Value *v = input(m, 0);
  int64_t to = int_attr(m, "to", 0);
  int own = m->real_bytes == 8 ? ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  int widen = to == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE && !v->positive && !v->is_const;
  if (to != own && !widen)
    node_error(m, "a cast to %s is not supported (nnc computes in %s; it reads Cast only as the step unit "
               "Cast(Greater(z, 0)) or a cast to the model's own type)", type_name((int32_t)to), type_name(own));
  if (v->is_const) node_error(m, "input '%s' is a constant; nnc computes only what depends on the inputs", v->name);
  if (!v->positive) {
    Value *r = alloc(m, 1, sizeof *r);
    *r = *v;
    r->wide = to != own;
    return set_output(m, r);
  }
  Value z = *v;
  z.positive = 0;
  set_output(m, materialise(m, &z, ACT_STEP, 0, m->node->output[0]));
}

static void op_leaky_relu(OnnxModel *m) {
  double alpha = float_attr(m, "alpha", 0.01);
  if (!(alpha >= 0 && alpha < 1))
    node_error(m, "alpha %g is not supported (nnc's leaky_relu takes a slope in [0, 1))", alpha);
  op_activation(m, ACT_LEAKY_RELU, alpha);
}

/* Softmax (act ACT_SOFTMAX) or LogSoftmax (ACT_LOG_SOFTMAX) over one whole sample: before
 * opset 13 over the axes from `axis` on (default 1), from 13 over the one axis (default -1);
 * either must cover the sample. */
static void op_normalised(OnnxModel *m, IrAct act) {
  check_arity(m, 1, 1);
  Value *v = form_input(m, 0);
  const Shape *s = &v->shape;
  int axis = axis_of(m, int_attr(m, "axis", m->opset < 13 ? 1 : -1), s->rank);
  int first = batched(s) ? 1 : 0;
  int whole = m->opset < 13 ? axis >= first && shape_elements(s, first) == shape_elements(s, axis)
                            : (s->rank == 0 || s->dim[axis] == v->width) && (axis >= first || s->rank == 0);
  if (!whole) {
    char b[128];
    shape_text(s, b, sizeof b);
    node_error(m, "%s along axis %d of %s is not supported (nnc's %s covers one whole sample, "
               "every axis but the first)", ir_act_name(act), axis, b, ir_act_name(act));
  }
  if (v->width < 2)
    node_error(m, "%s over a single value is not supported (it is always %s)", ir_act_name(act),
               act == ACT_SOFTMAX ? "1" : "0");
  set_output(m, materialise(m, v, act, 0, m->node->output[0]));
}

static void op_softmax(OnnxModel *m) { op_normalised(m, ACT_SOFTMAX); }
static void op_log_softmax(OnnxModel *m) { op_normalised(m, ACT_LOG_SOFTMAX); }

/* Gemm: Y = alpha·A·B' + beta·C, A the form (transA=0), B and C constants. */
static void op_gemm(OnnxModel *m) {
  check_arity(m, 2, 3);
  if (int_attr(m, "transA", 0))
    node_error(m, "transA=1 is not supported (A must be the batch of samples, one per row)");
  int trans_b = int_attr(m, "transB", 0) != 0;
  double alpha = float_attr(m, "alpha", 1), beta = float_attr(m, "beta", 1);
  Value *a = form_input(m, 0), *b = const_input(m, 1, "B");
  if (a->shape.rank != 2) node_error(m, "A must have 2 axes, not %d", a->shape.rank);
  if (b->shape.rank != 2) node_error(m, "B must have 2 axes, not %d", b->shape.rank);
  int64_t k = trans_b ? b->shape.dim[1] : b->shape.dim[0], n = trans_b ? b->shape.dim[0] : b->shape.dim[1];
  if (k != a->width) node_error(m, "B has %lld rows for %lld columns of A", (long long)k, (long long)a->width);
  double *w = new_matrix(m, n, k);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < k; j++) w[i * k + j] = alpha * b->data[trans_b ? i * k + j : j * n + i];
  Shape out = {2, {a->shape.dim[0], n}};
  Value *r = apply_matrix(m, w, n, a, &out);
  if (m->node->n_input > 2 && str(m->node->input[2])[0]) {
    double *c = broadcast_const(m, const_input(m, 2, "C"), &out, "C");
    for (int64_t i = 0; i < n; i++) r->bias[i] += beta * c[i];
  }
  set_output(m, r);
}

/* MatMul A·B with B a constant matrix [K, N]: on each row of K values of a sample. */
static void op_matmul(OnnxModel *m) {
  check_arity(m, 2, 2);
  if (input(m, 0)->is_const) node_error(m, "A is a constant; nnc supports A·B with B the constant matrix");
  Value *a = form_input(m, 0), *b = const_input(m, 1, "B");
  if (b->shape.rank != 2) node_error(m, "B must be a matrix (2 axes), not %d axes", b->shape.rank);
  if (a->shape.rank < 1) node_error(m, "A must have at least one axis");
  int64_t k = b->shape.dim[0], n = b->shape.dim[1];
  if (a->shape.dim[a->shape.rank - 1] != k)
    node_error(m, "A has %lld columns for %lld rows of B", (long long)a->shape.dim[a->shape.rank - 1], (long long)k);
  int64_t rows = a->width / (k ? k : 1); /* rows of K within one sample */
  Shape out = a->shape;
  out.dim[out.rank - 1] = n;
  if (rows * n > ONNX_MAX_WIDTH) node_error(m, "the result is too large");
  double *w = new_matrix(m, rows * n, a->width);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < k; j++) w[(r * n + i) * a->width + r * k + j] = b->data[j * n + i];
  set_output(m, apply_matrix(m, w, rows * n, a, &out));
}

static int same_shape(const Shape *a, const Shape *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dim[i] != b->dim[i] && !(i == 0 && batched(a) && (a->dim[i] < 0 || b->dim[i] < 0))) return 0;
  return 1;
}

/* v with row i scaled by a[i] and shifted by b[i]: the same terms, each matrix a new copy. */
static Value *scale_rows(OnnxModel *m, const Value *v, const double *a, const double *b) {
  Value *r = alloc(m, 1, sizeof *r);
  *r = *v;
  r->terms = alloc(m, (size_t)v->n_terms, sizeof(Term));
  for (int t = 0; t < v->n_terms; t++) {
    int64_t cols = m->groups[v->terms[t].group].size;
    double *out = new_matrix(m, v->width, cols);
    for (int64_t i = 0; i < v->width; i++)
      for (int64_t j = 0; j < cols; j++)
        out[i * cols + j] = a[i] * (v->terms[t].m ? v->terms[t].m[i * cols + j] : i == j);
    r->terms[t] = (Term){v->terms[t].group, out};
  }
  r->bias = alloc(m, (size_t)v->width, sizeof(double));
  for (int64_t i = 0; i < v->width; i++) r->bias[i] = a[i] * v->bias[i] + b[i];
  return r;
}

/* The sum of two computed values of one shape (two branches); sign −1 subtracts b. */
static Value *add_forms(OnnxModel *m, Value *a, Value *b, double sign) {
  if (!same_shape(&a->shape, &b->shape)) {
    char x[128], y[128];
    shape_text(&a->shape, x, sizeof x);
    shape_text(&b->shape, y, sizeof y);
    node_error(m, "%s values of shapes %s and %s; nnc %s two computed values only when their shapes are equal",
               sign > 0 ? "adds" : "subtracts", x, y, sign > 0 ? "adds" : "subtracts");
  }
  a = settled(m, a), b = settled(m, b);
  if (sign < 0) {
    double *minus = alloc(m, (size_t)b->width, sizeof(double)), *zero = alloc(m, (size_t)b->width, sizeof(double));
    for (int64_t i = 0; i < b->width; i++) minus[i] = -1;
    b = scale_rows(m, b, minus, zero);
  }
  Value *r = empty_form(m, &a->shape, a->n_terms + b->n_terms);
  for (int t = 0; t < a->n_terms; t++) add_term(m, r, &a->terms[t], a->width, NULL);
  for (int t = 0; t < b->n_terms; t++) add_term(m, r, &b->terms[t], b->width, NULL);
  for (int64_t i = 0; i < r->width; i++) r->bias[i] = a->bias[i] + b->bias[i];
  return r;
}

/* v as a form a layer reads (its pending scaling settled), still in double if it was. */
static Value *as_form(OnnxModel *m, const Value *v) {
  Value t = *v;
  t.wide = 0;
  Value *r = alloc(m, 1, sizeof *r);
  *r = *settled(m, &t);
  r->wide = v->wide;
  return r;
}

/* v `op` c for a constant c (one of - + * /, "r-" for c − v): an input's scaling (Add only
 * once it is scaled or in double: an Add of a constant to an input stays a bias, as it always
 * was), else the form's rows scaled and shifted. */
static Value *affine(OnnxModel *m, Value *v, const char *op, const Value *cv) {
  double *c = broadcast_const(m, cv, &v->shape, "the constant");
  for (int64_t i = 0; i < v->width; i++)
    if (!isfinite(c[i])) node_error(m, "the constant '%s' holds %g; nnc reads only finite weights", cv->name, c[i]);
  if (input_group_of(m, v) >= 0 && (op[0] != '+' || v->scale_mul || v->wide)) return scaled_input(m, v, op, c);
  v = as_form(m, v);
  double *a = alloc(m, (size_t)v->width, sizeof(double)), *b = alloc(m, (size_t)v->width, sizeof(double));
  for (int64_t i = 0; i < v->width; i++) {
    a[i] = op[0] == '*' ? c[i] : op[0] == '/' ? 1 / c[i] : op[0] == 'r' ? -1 : 1;
    b[i] = op[0] == '+' ? c[i] : op[0] == '-' ? -c[i] : op[0] == 'r' ? c[i] : 0;
    if (!isfinite(a[i]) && c[i] == 0) node_error(m, "divides by 0");
    if (!isfinite(a[i])) node_error(m, "divides by %g, whose inverse a double cannot hold", c[i]);
  }
  Value *r = scale_rows(m, v, a, b);
  r->wide = v->wide;
  return r;
}

/* Add and Sub: a computed value and a constant (a bias, or an input's scaling), or two
 * computed values of one shape (two branches). */
static void add_or_sub(OnnxModel *m, double sign) {
  check_arity(m, 2, 2);
  Value *a = input(m, 0), *b = input(m, 1);
  if (a->is_const && b->is_const)
    node_error(m, "%s two constants; nnc computes only what depends on the inputs", sign > 0 ? "adds" : "subtracts");
  if (a->is_const) set_output(m, affine(m, b, sign > 0 ? "+" : "r-", a));
  else if (b->is_const) set_output(m, affine(m, a, sign > 0 ? "+" : "-", b));
  else set_output(m, add_forms(m, a, b, sign));
}

static void op_add(OnnxModel *m) { add_or_sub(m, 1); }
static void op_sub(OnnxModel *m) { add_or_sub(m, -1); }

/* Mul and Div by a constant: an input's scaling, or the form's rows scaled. */
static void mul_or_div(OnnxModel *m, int divide) {
  check_arity(m, 2, 2);
  Value *a = input(m, 0), *b = input(m, 1);
  if (a->is_const && b->is_const)
    node_error(m, "%s two constants; nnc computes only what depends on the inputs", divide ? "divides" : "multiplies");
  if (!a->is_const && !b->is_const)
    node_error(m, "%s two computed values; nnc %s a computed value only by a constant", divide ? "divides" : "multiplies",
               divide ? "divides" : "multiplies");
  if (divide && a->is_const) node_error(m, "divides a constant by a computed value; not supported");
  set_output(m, a->is_const ? affine(m, b, "*", a) : affine(m, a, divide ? "/" : "*", b));
}

static void op_mul(OnnxModel *m) { mul_or_div(m, 0); }
static void op_div(OnnxModel *m) { mul_or_div(m, 1); }

/* Concat along an axis of the sample (not the batch axis): each operand's rows are placed
 * in the result. A constant operand contributes to the bias only. */
static void op_concat(OnnxModel *m) {
  check_arity(m, 1, m->node->n_input > 1 ? m->node->n_input : 1);
  if (!attribute(m, "axis")) node_error(m, "has no 'axis' attribute");
  Shape out = input(m, 0)->shape;
  if (out.rank == 0) node_error(m, "cannot concatenate scalars");
  int axis = axis_of(m, int_attr(m, "axis", 0), out.rank), first = batched(&out) ? 1 : 0;
  if (axis == 0 && first) node_error(m, "concatenation along the batch axis is not supported");
  out.dim[axis] = 0;
  int n_terms = 0;
  for (size_t i = 0; i < m->node->n_input; i++) {
    const Value *v = input(m, i);
    if (v->shape.rank != out.rank) node_error(m, "its operands have different numbers of axes");
    for (int d = 0; d < out.rank; d++) {
      int64_t a = v->shape.dim[d];
      if (d == axis || a == out.dim[d]) continue;
      if (d == 0 && !v->is_const && out.dim[0] == 1) out.dim[0] = a;
      else if (!(d == 0 && (a < 0 || out.dim[0] < 0 || (v->is_const && a == 1))))
        node_error(m, "its operands differ in shape outside axis %d", axis);
    }
    if (v->is_const && first && v->shape.dim[0] != 1) node_error(m, "a constant operand varies along the batch axis");
    out.dim[axis] += v->shape.dim[axis];
    n_terms += v->is_const ? 0 : v->n_terms;
  }
  if (sample_width(&out) > ONNX_MAX_WIDTH) node_error(m, "the result is too large");
  Value *r = empty_form(m, &out, n_terms);
  int64_t inner = shape_elements(&out, axis + 1), outer = 1, offset = 0;
  for (int d = first; d < axis; d++) outer *= out.dim[d];
  for (size_t i = 0; i < m->node->n_input; i++) {
    const Value *v = input(m, i);
    int64_t a = v->shape.dim[axis], w = outer * a * inner;
    int64_t *map = alloc(m, (size_t)w, sizeof(int64_t));
    for (int64_t e = 0; e < w; e++) map[e] = (e / (a * inner) * out.dim[axis] + offset + e / inner % a) * inner + e % inner;
    for (int t = 0; !v->is_const && t < v->n_terms; t++) add_term(m, r, &v->terms[t], w, map);
    for (int64_t e = 0; e < w; e++) r->bias[map[e]] += v->is_const ? v->data[e] : v->bias[e];
    offset += a;
  }
  set_output(m, r);
}

/* Dropout at inference: the identity. Its mask output and training mode are refused. */
static void op_dropout(OnnxModel *m) {
  check_arity(m, 1, 3);
  if (m->node->n_output > 1 && str(m->node->output[1])[0]) node_error(m, "its mask output is not supported");
  if (m->node->n_input > 2 && str(m->node->input[2])[0]) {
    const Value *t = const_input(m, 2, "training_mode");
    if (t->count != 1 || t->data[0] != 0) node_error(m, "training mode is not supported (nnc imports for inference)");
  }
  if (int_attr(m, "is_test", 1) == 0) node_error(m, "training mode is not supported (nnc imports for inference)");
  set_output(m, input(m, 0));
}

/* BatchNormalization at inference: per channel (axis 1) y = s·(x − mean)/√(var + ε) + B,
 * an affine map of each value. */
static void op_batch_norm(OnnxModel *m) {
  check_arity(m, 5, 5);
  if (int_attr(m, "training_mode", 0)) node_error(m, "training mode is not supported (nnc imports for inference)");
  if (m->node->n_output > 1 && str(m->node->output[1])[0])
    node_error(m, "its running mean and variance outputs are not supported");
  Value *x = form_input(m, 0);
  if (x->shape.rank < 2) node_error(m, "X must have at least 2 axes (the batch and the channels)");
  int64_t channels = x->shape.dim[1], inner = shape_elements(&x->shape, 2);
  const Value *p[4];
  static const char *const names[] = {"scale", "B", "mean", "var"};
  for (int k = 0; k < 4; k++) {
    p[k] = const_input(m, (size_t)k + 1, names[k]);
    if (p[k]->count != channels)
      node_error(m, "%s has %lld values for %lld channels", names[k], (long long)p[k]->count, (long long)channels);
  }
  double eps = float_attr(m, "epsilon", 1e-5);
  double *a = alloc(m, (size_t)x->width, sizeof(double)), *b = alloc(m, (size_t)x->width, sizeof(double));
  for (int64_t i = 0; i < x->width; i++) {
    int64_t c = i / inner % channels;
    a[i] = p[0]->data[c] / sqrt(p[3]->data[c] + eps);
    b[i] = p[1]->data[c] - a[i] * p[2]->data[c];
    if (!isfinite(a[i]) || !isfinite(b[i]))
      node_error(m, "channel %lld has a variance that is not positive", (long long)c);
  }
  set_output(m, scale_rows(m, x, a, b));
}

/* A new shape for the same values; a computed value keeps its batch axis and its width. */
static void reshape_to(OnnxModel *m, Value *v, const Shape *s) {
  Value *r = alloc(m, 1, sizeof *r);
  *r = *v;
  r->shape = *s;
  r->width = sample_width(s);
  int same_batch = batched(s) && batched(&v->shape) &&
                   (s->dim[0] == v->shape.dim[0] || s->dim[0] < 0 || v->shape.dim[0] < 0);
  if (v->is_const ? shape_elements(s, 0) != v->count : !same_batch || r->width != v->width) {
    char x[128], y[128];
    shape_text(&v->shape, x, sizeof x);
    shape_text(s, y, sizeof y);
    node_error(m, "reshaping %s to %s is not supported (nnc reshapes within a sample, never along the batch axis)", x, y);
  }
  set_output(m, r);
}

static void op_flatten(OnnxModel *m) {
  check_arity(m, 1, 1);
  Value *v = input(m, 0);
  int rank = v->shape.rank;
  int64_t axis = int_attr(m, "axis", 1);
  if (axis < -rank || axis > rank)
    node_error(m, "axis %lld is out of range for a tensor of %d axes", (long long)axis, rank);
  if (axis < 0) axis += rank;
  Shape s = {2, {1, 1}};
  for (int i = 0; i < rank; i++) s.dim[i < axis ? 0 : 1] *= v->shape.dim[i];
  if (rank > 0 && v->shape.dim[0] < 0) s.dim[0] = -1;
  for (int i = 1; !v->is_const && i < axis; i++)
    if (v->shape.dim[i] != 1) node_error(m, "flattening at axis %lld is not supported (nnc flattens a sample: axis 1, "
                                         "or one after axes of size 1)", (long long)axis);
  if (!v->is_const && axis < 1)
    node_error(m, "flattening at axis 0 merges the batch axis into the sample; not supported");
  reshape_to(m, v, &s);
}

/* Reshape to a constant shape: 0 copies the axis (unless allowzero), one -1 is inferred.
 * With a batch of unknown size the first size must be 0 or -1 (it stays the batch axis). */
static void op_reshape(OnnxModel *m) {
  check_arity(m, 2, 2);
  Value *v = input(m, 0), *shape = const_input(m, 1, "the shape");
  if (shape->shape.rank != 1 || shape->count > ONNX_MAX_RANK)
    node_error(m, "the shape must be a list of at most %d sizes", ONNX_MAX_RANK);
  int allow_zero = int_attr(m, "allowzero", 0) != 0, infer = -1, dynamic = v->shape.rank > 0 && v->shape.dim[0] < 0;
  Shape s = {(int)shape->count, {0}};
  for (int i = 0; i < s.rank; i++) {
    double x = shape->data[i];
    if (!(x >= -1 && x <= ONNX_MAX_WIDTH) || x != floor(x)) node_error(m, "the shape has an invalid size %g", x);
    int64_t d = (int64_t)x;
    if (d == 0 && !allow_zero) {
      if (i >= v->shape.rank) node_error(m, "size 0 copies axis %d, which the input does not have", i);
      s.dim[i] = v->shape.dim[i];
      continue;
    }
    if (d < -1 || (d == -1 && infer >= 0)) node_error(m, "the shape has an invalid size %lld", (long long)d);
    if (d == -1) infer = i;
    s.dim[i] = d;
  }
  if (dynamic && !(s.rank >= 2 && (s.dim[0] == -1)))
    node_error(m, "a batch of unknown size must stay the first axis (size 0 or -1)");
  if (dynamic && infer == 0) infer = -1;
  int64_t total = dynamic ? v->width : shape_elements(&v->shape, 0), known = 1;
  for (int i = dynamic ? 1 : 0; i < s.rank; i++)
    if (i != infer && (known *= s.dim[i]) > ((int64_t)1 << 38)) node_error(m, "the shape is too large");
  if (infer >= 0) {
    if (known == 0 || total % known) node_error(m, "the shape does not divide the %lld elements", (long long)total);
    s.dim[infer] = total / known;
  }
  reshape_to(m, v, &s);
}

/* Constant: value (a tensor), value_float(s), value_int(s). */
static void op_constant(OnnxModel *m) {
  check_arity(m, 0, 0);
  const Onnx__AttributeProto *a = m->node->n_attribute == 1 ? m->node->attribute[0] : NULL;
  if (!a) node_error(m, "needs exactly one attribute, its value");
  const char *name = str(a->name);
  Value *v;
  if (strcmp(name, "value") == 0 && a->t) {
    v = constant_of(m, a->t, "constant");
  } else if (strcmp(name, "value_float") == 0 || strcmp(name, "value_int") == 0) {
    v = alloc(m, 1, sizeof *v);
    v->count = v->width = 1;
    v->data = alloc(m, 1, sizeof(double));
    v->data[0] = name[6] == 'f' ? a->f : (double)a->i;
  } else if (strcmp(name, "value_floats") == 0 || strcmp(name, "value_ints") == 0) {
    int floats = name[6] == 'f';
    v = alloc(m, 1, sizeof *v);
    v->count = (int64_t)(floats ? a->n_floats : a->n_ints);
    v->shape = (Shape){1, {v->count}};
    v->width = v->count;
    v->data = alloc(m, (size_t)v->count, sizeof(double));
    for (int64_t i = 0; i < v->count; i++) v->data[i] = floats ? a->floats[i] : (double)a->ints[i];
  } else {
    node_error(m, "a constant given as '%s' is not supported", name);
  }
  v->is_const = 1;
  set_output(m, v);
}

/* The operators nnc reads, each with the first operator set whose definition it follows. */
typedef struct Operator {
  const char *name;
  int since;
  void (*read)(OnnxModel *m);
} Operator;

static void op_relu(OnnxModel *m) { op_activation(m, ACT_RELU, 0); }
static void op_sigmoid(OnnxModel *m) { op_activation(m, ACT_SIGMOID, 0); }
static void op_tanh(OnnxModel *m) { op_activation(m, ACT_TANH, 0); }
static void op_softplus(OnnxModel *m) { op_activation(m, ACT_SOFTPLUS, 0); }


static const Operator operators[] = {
    {"Gemm", 9, op_gemm},         {"MatMul", 1, op_matmul},      {"Add", 7, op_add},
    {"Sub", 7, op_sub},           {"Mul", 7, op_mul},            {"Div", 7, op_div},
    {"Relu", 6, op_relu},         {"Sigmoid", 6, op_sigmoid},    {"Tanh", 6, op_tanh},
    {"Softplus", 1, op_softplus}, {"LeakyRelu", 6, op_leaky_relu}, {"Softmax", 1, op_softmax},
    {"LogSoftmax", 1, op_log_softmax}, {"Identity", 1, op_identity}, {"Flatten", 1, op_flatten},
    {"Reshape", 5, op_reshape},   {"Concat", 4, op_concat},      {"Constant", 1, op_constant},
    {"Dropout", 7, op_dropout},   {"BatchNormalization", 9, op_batch_norm},
    {"Greater", 7, op_greater},   {"Cast", 6, op_cast},
};

static void read_node(OnnxModel *m) {
  const char *op = str(m->node->op_type), *domain = str(m->node->domain);
  if (domain[0] && strcmp(domain, "ai.onnx") != 0) node_error(m, "operators of domain '%s' are not supported", domain);
  for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++) {
    if (strcmp(op, operators[i].name) != 0) continue;
    if (m->opset < operators[i].since)
      node_error(m, "operator set %d is older than the %s nnc reads (version %d and later)", m->opset, op, operators[i].since);
    operators[i].read(m);
    return;
  }
  node_error(m, "not supported");
}

/* --- graph inputs and outputs ------------------------------------------------------------- */

static const Onnx__TypeProto__Tensor *tensor_type(OnnxModel *m, const Onnx__ValueInfoProto *vi, const char *what) {
  const Onnx__TypeProto *t = vi->type;
  if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type->has_elem_type)
    model_error(m, "%s '%s' is not a tensor of a known type", what, str(vi->name));
  return t->tensor_type;
}

/* Graph inputs that are not initializers become input groups; all share one precision. */
static void read_inputs(OnnxModel *m) {
  const Onnx__GraphProto *g = m->proto->graph;
  for (size_t i = 0; i < g->n_input; i++) {
    const Onnx__ValueInfoProto *vi = g->input[i];
    const char *name = str(vi->name);
    const Value *known = lookup(m, name);
    if (known && !known->is_const) model_error(m, "not a valid ONNX model (input '%s' is listed twice)", name);
    if (known) continue; /* an initializer with a default value */
    const Onnx__TypeProto__Tensor *t = tensor_type(m, vi, "input");
    int bytes = t->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4 : t->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? 8 : 0;
    if (!bytes) model_error(m, "input '%s' holds %s; nnc's inputs are float or double", name, type_name(t->elem_type));
    if (m->real_bytes && bytes != m->real_bytes)
      model_error(m, "inputs mix float and double; nnc computes in one precision");
    m->real_bytes = bytes;
    if (!t->shape) model_error(m, "input '%s' has no shape", name);
    if (t->shape->n_dim > ONNX_MAX_RANK) model_error(m, "input '%s' has more than %d axes", name, ONNX_MAX_RANK);
    Shape s = {(int)t->shape->n_dim, {0}};
    for (int d = 0; d < s.rank; d++) {
      const Onnx__TensorShapeProto__Dimension *dim = t->shape->dim[d];
      int fixed = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dim->dim_value > 0;
      if (!fixed && s.rank == 1)
        model_error(m, "input '%s' has one axis of no fixed size (an input of one axis is one sample; the batch "
                    "axis is the first of two or more)", name);
      if (!fixed && d > 0)
        model_error(m, "input '%s': axis %d has no fixed size (only the first, the batch axis, may vary)", name, d);
      if (fixed && dim->dim_value > ONNX_MAX_WIDTH) model_error(m, "input '%s' is too large", name);
      s.dim[d] = fixed ? dim->dim_value : -1;
    }
    int64_t width = sample_width(&s);
    if (width > ONNX_MAX_WIDTH) model_error(m, "input '%s' is too large", name);
    define(m, name, group_value(m, new_group(m, name, ROLE_INPUT, width), &s));
  }
  if (m->n_groups == 0) model_error(m, "the graph has no input");
  if (!m->real_bytes) m->real_bytes = 4;
}

static void read_nodes(OnnxModel *m) {
  const Onnx__GraphProto *g = m->proto->graph;
  for (size_t i = 0; i < g->n_node; i++) {
    m->node = g->node[i];
    m->node_index = (int)i;
    read_node(m);
  }
  m->node = NULL;
}

/* Each graph output becomes an output group: the group it already is when nothing else
 * claims that group, else a new identity group fed by the value. */
static void read_outputs(OnnxModel *m) {
  const Onnx__GraphProto *g = m->proto->graph;
  if (g->n_output == 0) model_error(m, "the graph has no output");
  for (size_t i = 0; i < g->n_output; i++) {
    const char *name = str(g->output[i]->name);
    Value *v = lookup(m, name);
    if (!v) model_error(m, "output '%s' is not computed by any node", name);
    if (v->wide) model_error(m, "output '%s' is a value cast to double; nnc's outputs are float in a float model", name);
    if (!v->is_const && !v->positive) v = settled(m, v);
    if (v->is_const) model_error(m, "output '%s' is a constant; nnc computes only what depends on the inputs", name);
    if (v->positive)
      model_error(m, "output '%s' is the boolean of a Greater; nnc computes reals (a step unit is "
                  "Cast(Greater(z, 0)) to them)", name);
    int grp = plain_group(m, v);
    if (grp < 0 || m->groups[grp].role != ROLE_HIDDEN) {
      if (v->n_terms == 0) model_error(m, "output '%s' does not depend on the inputs", name);
      grp = new_group(m, name, ROLE_HIDDEN, v->width);
      m->groups[grp].terms = v->terms;
      m->groups[grp].n_terms = v->n_terms;
      m->groups[grp].bias = v->bias;
    }
    m->groups[grp].role = ROLE_OUTPUT;
    m->groups[grp].output = (int)i;
  }
}

/* Marks the groups that feed an output (the others are left out of the network), and counts
 * the live groups each one feeds. */
static void mark_live(OnnxModel *m) {
  for (int i = m->n_groups - 1; i >= 0; i--) {
    Group *g = &m->groups[i];
    if (g->role == ROLE_OUTPUT || g->role == ROLE_INPUT) g->live = 1;
    if (!g->live) continue;
    for (int t = 0; t < g->n_terms; t++) {
      m->groups[g->terms[t].group].live = 1;
      m->groups[g->terms[t].group].feeds++;
    }
  }
}

/* nnc's softmax is an output activation trained with cross-entropy: every output must then
 * be softmax or sigmoid and feed nothing. */
static void check_softmax(OnnxModel *m) {
  int softmax = 0, other = -1;
  for (int i = 0; i < m->n_groups; i++) {
    const Group *g = &m->groups[i];
    if (!g->live || g->role == ROLE_INPUT) continue;
    if ((g->act == ACT_SOFTMAX || g->act == ACT_LOG_SOFTMAX) && (g->role != ROLE_OUTPUT || m->groups[i].feeds)) {
      m->node = m->proto->graph->node[g->node];
      m->node_index = g->node;
      node_error(m, "a %s whose result other nodes use is not supported (nnc applies %s only to an "
                 "output of the network)", ir_act_name(g->act), ir_act_name(g->act));
    }
    if (g->act == ACT_SOFTMAX) softmax = 1;
    else if (g->role == ROLE_OUTPUT && (g->act != ACT_SIGMOID || m->groups[i].feeds)) other = i;
  }
  if (softmax && other >= 0)
    model_error(m, "a softmax output next to output '%s' (%s) is not supported (nnc trains a softmax output with "
                "cross-entropy, which needs every output to be softmax or sigmoid and to feed nothing else)",
                m->groups[other].name, ir_act_name(m->groups[other].act));
}

/* v as a weight of the model's precision: finite once rounded to it. */
static int representable(const OnnxModel *m, double v) {
  return m->real_bytes == 4 ? isfinite((float)v) : isfinite(v);
}

/* The first weight or bias of group g that its precision cannot hold, or NULL. Constants are
 * checked where an operator reads them as a whole (Mul, Div, ...); a layer's weights are also
 * products (Gemm's alpha·B, beta·C, a Gemm folded after another), so each is checked here. */
static const double *unrepresentable_weight(const OnnxModel *m, const Group *g) {
  for (int k = 0; k < g->n_terms; k++) {
    const Term *t = &g->terms[k];
    int64_t n = t->m ? (int64_t)g->size * m->groups[t->group].size : 0;
    for (int64_t i = 0; i < n; i++)
      if (!representable(m, t->m[i])) return &t->m[i];
  }
  for (int64_t i = 0; i < g->size; i++)
    if (!representable(m, g->bias[i])) return &g->bias[i];
  return NULL;
}

/* The parameters of the network the import writes: its matrices (at most ONNX_MAX_WEIGHTS)
 * and biases, and the identity matrices of values passed unchanged into a new layer, n² each,
 * which no matrix of the import holds: three Relus in a row on 16777216 values were 8·10^14
 * parameters, and a 25 KB model of 1000 Relus on 512 values compiled for many minutes. */
static void check_size(OnnxModel *m) {
  int64_t params = 0;
  for (int i = 0; i < m->n_groups; i++) {
    const Group *g = &m->groups[i];
    if (!g->live || g->role == ROLE_INPUT) continue;
    params += g->size;
    for (int k = 0; k < g->n_terms && params <= ONNX_MAX_PARAMS; k++)
      params += (int64_t)g->size * m->groups[g->terms[k].group].size;
    if (params > ONNX_MAX_PARAMS)
      model_error(m, "the model is too large to import (its network would have more than %lld parameters; a "
                  "value passed unchanged into a new layer takes an identity matrix of n² of them)",
                  (long long)ONNX_MAX_PARAMS);
  }
}

/* Every layer's weights are finite in the model's precision: an infinite or NaN weight (an
 * alpha of inf, B holding NaN, 1e30·1e30 in float) would compute nothing but inf and NaN. */
static void check_weights(OnnxModel *m) {
  for (int i = 0; i < m->n_groups; i++) {
    const Group *g = &m->groups[i];
    if (!g->live || g->role == ROLE_INPUT) continue;
    const double *w = unrepresentable_weight(m, g);
    if (!w) continue;
    const char *what = m->real_bytes == 4 ? "a float model" : "a double model";
    if (g->node < 0)
      model_error(m, "output '%s' would have a weight of %g, which %s cannot hold; nnc reads only finite weights",
                  str(m->proto->graph->output[g->output]->name), *w, what);
    m->node = m->proto->graph->node[g->node];
    m->node_index = g->node;
    node_error(m, "the layer it computes would have a weight of %g (from the constants and attributes of the "
               "nodes before it), which %s cannot hold; nnc reads only finite weights", *w, what);
  }
}

/* Declaration order: inputs, hidden groups as they were made, outputs in graph order. */
static void declare(OnnxModel *m) {
  m->decl = alloc(m, (size_t)m->n_groups, sizeof(int));
  for (int i = 0; i < m->n_groups; i++)
    if (m->groups[i].role == ROLE_INPUT) m->decl[m->n_decl++] = i;
  for (int i = 0; i < m->n_groups; i++)
    if (m->groups[i].role == ROLE_HIDDEN && m->groups[i].live) m->decl[m->n_decl++] = i;
  int first_output = m->n_decl;
  for (int i = 0; i < m->n_groups; i++)
    if (m->groups[i].output >= 0) m->decl[first_output + m->groups[i].output] = i, m->n_decl++;
  for (int d = 0; d < m->n_decl; d++) m->groups[m->decl[d]].id = d;
}

/* --- the .nn source --------------------------------------------------------------------------- */

typedef struct Text {
  char *buf;
  size_t len, cap;
} Text;

static void __attribute__((format(printf, 2, 3))) emit(Text *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    t->cap = 2 * t->cap + (size_t)(n > 0 ? n : 0) + 64;
    t->buf = xrealloc(t->buf, t->cap);
  }
}

static void emit_group(const OnnxModel *m, Text *t, const Group *g) {
  static const char *const kind[] = {"input", "bias", "layer", "output"};
  emit(t, "  %s %s[%d]", kind[g->role], g->name, g->size);
  if (g->role == ROLE_INPUT) {
    emit(t, ";\n");
    return;
  }
  if (g->act == ACT_LEAKY_RELU) emit(t, " leaky_relu(%.17g)", g->act_param);
  else emit(t, " %s", ir_act_name(g->act));
  for (int k = 0; k < g->n_terms; k++) emit(t, "%s%s", k ? " + " : " <- ", m->groups[g->terms[k].group].name);
  emit(t, ";\n");
}

static const char *file_stem(OnnxModel *m) {
  const char *base = strrchr(m->path, '/');
  base = base ? base + 1 : m->path;
  size_t n = strlen(base);
  if (n > 5 && strcmp(base + n - 5, ".onnx") == 0) n -= 5;
  char *stem = alloc(m, n + 1, 1);
  memcpy(stem, base, n);
  return stem;
}

static void write_source(OnnxModel *m) {
  Text t = {xmalloc(1024), 0, 1024};
  const Onnx__ModelProto *p = m->proto;
  int softmax = 0;
  for (int d = 0; d < m->n_decl; d++) softmax |= m->groups[m->decl[d]].act == ACT_SOFTMAX;
  const char *name = sanitized(m, file_stem(m));
  emit(&t, "// %s imported from ONNX (operator set %d", name, m->opset);
  if (str(p->producer_name)[0]) emit(&t, ", written by %.40s %.20s", p->producer_name, str(p->producer_version));
  for (char *c = t.buf; *c; c++)
    if (*c < 32 || *c > 126) *c = '?'; /* the producer's name stays in the comment */
  emit(&t, ")\n// its weights are in the weights file written beside it (nnc --weights)\n");
  emit(&t, "network %s {\n", name);
  for (int d = 0; d < m->n_decl; d++) emit_group(m, &t, &m->groups[m->decl[d]]);
  if (softmax || m->real_bytes == 8) {
    emit(&t, "  train {\n");
    if (softmax) emit(&t, "    loss cross_entropy;\n");
    if (m->real_bytes == 8) emit(&t, "    precision f64;\n");
    emit(&t, "  }\n");
  }
  emit(&t, "}\n");
  m->source = t.buf;
  m->source_len = t.len;
}

/* --- entry ------------------------------------------------------------------------------------ */

int onnx_is_model(const char *path, const char *bytes, size_t len) {
  size_t n = strlen(path);
  return (n >= 5 && strcmp(path + n - 5, ".onnx") == 0) || (len > 0 && bytes[0] == 0x08);
}

static void warn_unused_inputs(const OnnxModel *m) {
  for (int i = 0; i < m->n_groups; i++)
    if (m->groups[i].role == ROLE_INPUT && !m->groups[i].feeds)
      fprintf(m->err, "%s: warning: input '%s' does not feed any output\n", m->path, m->groups[i].name);
}

/* The input groups' scalings side by side (an input without one: offset 0, multiplier 1): a
 * factor when every offset is 0 and every multiplier the same, else offsets and multipliers. */
static void collect_scaling(OnnxModel *m) {
  int64_t n = 0, k = 0;
  int any = 0;
  for (int d = 0; d < m->n_decl; d++) {
    const Group *g = &m->groups[m->decl[d]];
    if (g->role == ROLE_INPUT) n += g->size, any |= g->scale_mul != NULL;
  }
  if (!any) return;
  m->scale_off = alloc(m, (size_t)n, sizeof(double));
  m->scale_mul = alloc(m, (size_t)n, sizeof(double));
  int factor = 1;
  for (int d = 0; d < m->n_decl; d++) {
    const Group *g = &m->groups[m->decl[d]];
    for (int64_t i = 0; g->role == ROLE_INPUT && i < g->size; i++, k++) {
      m->scale_off[k] = g->scale_mul ? g->scale_off[i] : 0;
      m->scale_mul[k] = g->scale_mul ? g->scale_mul[i] : 1;
      factor &= m->scale_off[k] == 0 && m->scale_mul[k] == m->scale_mul[0];
    }
  }
  m->scale_mode = factor ? NNC_SCALE_FACTOR : NNC_SCALE_ZSCORE;
}

OnnxModel *onnx_import(const char *path, const unsigned char *bytes, size_t len, FILE *err) {
  OnnxModel *m = xcalloc(1, sizeof *m);
  m->path = path;
  m->err = err;
  if (setjmp(m->fail)) {
    onnx_free(m);
    return NULL;
  }
  if (len > ONNX_MAX_BYTES) model_error(m, "the model is larger than %zu MiB", ONNX_MAX_BYTES >> 20);
  parse_model(m, bytes, len);
  check_opset(m);
  read_initializers(m);
  read_inputs(m);
  read_nodes(m);
  read_outputs(m);
  mark_live(m);
  check_softmax(m);
  check_size(m);
  check_weights(m);
  declare(m);
  collect_scaling(m);
  warn_unused_inputs(m);
  write_source(m);
  return m;
}

int onnx_input_scaling(const OnnxModel *m, const double **offset, const double **mul) {
  *offset = m->scale_off;
  *mul = m->scale_mul;
  return m->scale_mode;
}

const char *onnx_nn_source(const OnnxModel *m, size_t *len) {
  *len = m->source_len;
  return m->source;
}

static void put_real(void *params, int real_bytes, int64_t i, double v) {
  if (real_bytes == 4) ((float *)params)[i] = (float)v;
  else ((double *)params)[i] = v;
}

/* The declared groups are the IR's first n_decl groups; each group's edge sets are its terms
 * in order, then its bias. */
void *onnx_params(const OnnxModel *m, const IrNetwork *net) {
  NNC_ASSERT(net->real_bytes == m->real_bytes);
  void *params = xcalloc((size_t)(net->n_params ? net->n_params : 1), (size_t)net->real_bytes);
  for (int i = 0; i < net->n_order; i++) {
    const IrGroup *g = &net->groups[net->order[i]];
    NNC_ASSERT(g->id < m->n_decl);
    const Group *src = &m->groups[m->decl[g->id]];
    NNC_ASSERT(g->n_in == src->n_terms + 1);
    for (int k = 0; k < src->n_terms; k++) {
      const Term *t = &src->terms[k];
      int64_t cols = m->groups[t->group].size, off = g->in[k].param_offset;
      NNC_ASSERT(g->in[k].src == m->groups[t->group].id && g->in[k].count == (int64_t)g->size * cols);
      for (int64_t r = 0; r < g->size; r++)
        for (int64_t c = 0; c < cols; c++)
          put_real(params, net->real_bytes, off + r * cols + c, t->m ? t->m[r * cols + c] : r == c);
    }
    for (int64_t r = 0; r < g->size; r++) put_real(params, net->real_bytes, g->in[g->n_in - 1].param_offset + r, src->bias[r]);
  }
  return params;
}

void onnx_free(OnnxModel *m) {
  if (!m) return;
  if (m->proto) onnx__model_proto__free_unpacked(m->proto, NULL); /* budget_free is free */
  arena_free(&m->arena);
  free(m->source);
  free(m);
}
