/* main.c — the nnc driver: reads the command line, runs the pipeline, writes the outputs.
 *   check output paths → [import ONNX] → parse → sema → verify → [dump] → codegen → verify → emit → [link]
 * An ONNX model (onnx.c) becomes .nn source and parameters; from the parser on, the pipeline
 * is the same, and the parameters are compiled in as --weights would be.
 * Every output is written whole or not at all (output.c); one that would overwrite an input
 * or another output is refused before any work (exit 2).
 * Exit status: 0 success, 1 errors in the input, 2 bad usage, 3 out of memory. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ast.h"
#include "backend.h"
#include "codegen.h"
#include "ir.h"
#include "nnc/nnrt.h"
#include "onnx.h"
#include "output.h"

typedef enum Action {
  ACT_EXECUTABLE, /* default: object + runtime linked into an executable */
  ACT_OBJECT,     /* -c */
  ACT_ASSEMBLY,   /* -S */
  ACT_LLVM,       /* --emit-llvm */
  ACT_AST,        /* --emit-ast */
  ACT_IR,         /* --emit-ir */
  ACT_DOT,        /* --emit-dot */
  ACT_CHECK,      /* --check */
  ACT_NN,         /* --emit-nn: an ONNX model as .nn source and its weights file */
  ACT_ONNX,       /* --emit-onnx: the network with trained weights as an ONNX model */
} Action;

typedef struct Options {
  Action action;
  const char *input, *output, *header, *weights;
  BackendOptions backend;
} Options;

static const char usage_text[] =
    "usage: nnc [options] FILE.nn|FILE.onnx\n"
    "\n"
    "Compiles a neural network written in the .nn language, or an ONNX model, to native code.\n"
    "\n"
    "Output (default: an executable named after the network):\n"
    "  -o FILE           write the output to FILE ('-' for standard output where text)\n"
    "  -c                compile to an object file (FILE.o) only\n"
    "  --header FILE     also write the C header of the object's functions\n"
    "  -S                write assembly\n"
    "  --emit-llvm       write LLVM IR as text\n"
    "  --weights FILE    embed trained weights: an inference-only object or executable\n"
    "  --quantize SCHEME with --weights: store the dense layers' weights as int8 (one scale\n"
    "                    per neuron, int32 sums) or bf16 (float sums); x and y stay float\n"
    "  --prefix NAME     name the object's symbols NAME_forward, NAME_model, ... and the\n"
    "                    header's macros NAME_... (default: the network's name)\n"
    "\n"
    "Inspection (written to standard output unless -o is given):\n"
    "  --check           stop after checking; report errors only\n"
    "  --emit-ast        print the syntax tree\n"
    "  --emit-ir         print the checked network IR\n"
    "  --emit-dot        draw the network as a Graphviz graph\n"
    "  --emit-nn         write an ONNX model as .nn source (-o FILE.nn) and its weights\n"
    "                    (FILE.weights)\n"
    "  --emit-onnx       write the network with its trained weights (--weights FILE) as an\n"
    "                    ONNX model (-o FILE, default NAME.onnx)\n"
    "\n"
    "Code generation:\n"
    "  -O0 -O1 -O2 -O3   optimisation level (default -O3)\n"
    "  --target TRIPLE   target triple (default: this machine)\n"
    "  --cpu NAME        target CPU (default: this machine's, or 'generic' with --target)\n"
    "  --features LIST   target features, e.g. +avx2,-avx512f\n"
    "\n"
    "  --help            show this help\n"
    "  --version         show the version\n"
    "\n"
    "A long option's value may also follow '=': --cpu=NAME.\n"
    "Exit status: 0 success, 1 errors in the input, 2 bad usage, 3 out of memory.\n";

static _Noreturn void usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "nnc: error: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'nnc --help' for more information.\n");
  exit(2);
}

static const char *option_value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) usage_error("option '%s' needs a value", argv[*i]);
  if (!argv[*i + 1][0]) usage_error("option '%s' needs a value, not an empty string", argv[*i]);
  return argv[++*i];
}

/* The longest --prefix: symbols and macros stay well inside the buffers that build them. */
#define MAX_PREFIX 128

/* 1 if PREFIX_... names would fall in nnc's own namespaces: nnc_ and NNC_ (nnc/model.h,
 * which the header includes: a prefix `nnc` declared `nnc_model nnc_model`) and nnrt_
 * (libnnrt: `nnrt` defined nnrt_evaluate). The macros are in capitals: any case counts. */
static int prefix_is_reserved(const char *p) {
  static const char *const spaces[] = {"nnc", "nnrt"};
  for (size_t k = 0; k < sizeof spaces / sizeof spaces[0]; k++) {
    size_t n = strlen(spaces[k]);
    if (strncasecmp(p, spaces[k], n) == 0 && (p[n] == 0 || p[n] == '_')) return 1;
  }
  return 0;
}

#define RESERVED_PREFIXES "nnc_... and nnrt_... are the names of nnc's header and runtime library"

/* A symbol prefix is a C identifier: a letter or '_', then letters, digits and '_'. */
static const char *check_prefix(const char *p) {
  size_t len = strlen(p);
  int ok = len > 0 && len <= MAX_PREFIX && !isdigit((unsigned char)p[0]);
  for (size_t i = 0; ok && i < len; i++) ok = isalnum((unsigned char)p[i]) || p[i] == '_';
  if (!ok) usage_error("--prefix '%s' is not a C identifier of at most 128 characters", p);
  if (prefix_is_reserved(p)) usage_error("--prefix '%s' is reserved: " RESERVED_PREFIXES, p);
  return p;
}

/* An object, assembly or LLVM IR, and a header, name their symbols after the network without
 * --prefix; an executable keeps them internal (codegen.c), so any name does there. */
static int refuse_reserved_name(const Options *o, const IrNetwork *net, Diag *diag, int imported) {
  if (o->backend.prefix || (o->action == ACT_EXECUTABLE && !o->header) || !prefix_is_reserved(net->name)) return 0;
  if (imported)
    fprintf(stderr, "%s: error: the network's name '%s' would name the object's symbols: " RESERVED_PREFIXES
            "; give another with --prefix\n", o->input, net->name);
  else
    diag_error(diag, net->loc, "network name '%s' would name the object's symbols: " RESERVED_PREFIXES
               "; give another with --prefix", net->name);
  return 1;
}

/* --quantize SCHEME: int8 or bf16. */
static int quantize_scheme(const char *s) {
  if (strcmp(s, "int8") == 0) return CG_QUANT_INT8;
  if (strcmp(s, "bf16") == 0) return CG_QUANT_BF16;
  usage_error("unknown --quantize scheme '%s' (int8 or bf16)", s);
}

static void set_action(Options *o, Action a, const char *flag) {
  if (o->action != ACT_EXECUTABLE && o->action != a) usage_error("'%s' conflicts with an earlier output option", flag);
  o->action = a;
}

/* The option argv[*i] names: the whole argument, or what precedes '=' in --name=VALUE. */
static int names(const char *a, const char *name) {
  size_t len = strlen(name);
  return strncmp(a, name, len) == 0 && (a[len] == 0 || (a[len] == '=' && name[1] == '-'));
}

/* The value of the option at argv[*i]: after its '=' (not nothing), or the next argument. */
static const char *value_of(int argc, char **argv, int *i) {
  const char *eq = strncmp(argv[*i], "--", 2) == 0 ? strchr(argv[*i], '=') : NULL;
  if (eq && !eq[1]) usage_error("option '%s' needs a value after '='", argv[*i]);
  return eq ? eq + 1 : option_value(argc, argv, i);
}

/* An option that names one thing (a file, a prefix, a target, a scheme) is given once: of
 * `-o a -o b` one file was silently dropped. (-O takes the last, as cc does.) */
static void refuse_twice(int given, const char *flag) {
  if (given) usage_error("option '%s' is given more than once", flag);
}

static void set_once(const char **slot, const char *value, const char *flag) {
  refuse_twice(*slot != NULL, flag);
  *slot = value;
}

static int parse_flag(Options *o, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  static const struct { const char *flag; Action action; } actions[] = {
      {"-c", ACT_OBJECT}, {"-S", ACT_ASSEMBLY}, {"--emit-llvm", ACT_LLVM}, {"--emit-ast", ACT_AST},
      {"--emit-ir", ACT_IR}, {"--emit-dot", ACT_DOT}, {"--check", ACT_CHECK}, {"--emit-nn", ACT_NN},
      {"--emit-onnx", ACT_ONNX}};
  for (size_t k = 0; k < sizeof actions / sizeof actions[0]; k++)
    if (names(a, actions[k].flag)) {
      if (strcmp(a, actions[k].flag) != 0) usage_error("option '%s' takes no value", actions[k].flag);
      return set_action(o, actions[k].action, a), 1;
    }
  if (strcmp(a, "-o") == 0) set_once(&o->output, option_value(argc, argv, i), "-o");
  else if (names(a, "--header")) set_once(&o->header, value_of(argc, argv, i), "--header");
  else if (names(a, "--weights")) set_once(&o->weights, value_of(argc, argv, i), "--weights");
  else if (names(a, "--quantize")) refuse_twice(o->backend.quantize, "--quantize"),
                                    o->backend.quantize = quantize_scheme(value_of(argc, argv, i));
  else if (names(a, "--prefix")) set_once(&o->backend.prefix, check_prefix(value_of(argc, argv, i)), "--prefix");
  else if (names(a, "--target")) set_once(&o->backend.triple, value_of(argc, argv, i), "--target");
  else if (names(a, "--cpu")) set_once(&o->backend.cpu, value_of(argc, argv, i), "--cpu");
  else if (names(a, "--features")) set_once(&o->backend.features, value_of(argc, argv, i), "--features");
  else if (strlen(a) == 3 && a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3') o->backend.opt_level = a[2] - '0';
  else return 0;
  return 1;
}

/* Options of compiled code given with an action that compiles none are refused, not
 * ignored: `--emit-ir --header h.h` wrote no header and `--check --weights W` read no
 * weights, both with status 0. --weights also serves --emit-onnx. */
static void refuse_unused_options(const Options *o) {
  int compiled = o->action == ACT_EXECUTABLE || o->action == ACT_OBJECT || o->action == ACT_ASSEMBLY ||
                 o->action == ACT_LLVM;
  if (compiled) return;
  const char *unused = o->backend.quantize ? "--quantize" : o->header ? "--header" : o->backend.prefix ? "--prefix"
                     : o->backend.triple ? "--target" : o->backend.cpu ? "--cpu" : o->backend.features ? "--features"
                     : o->weights && o->action != ACT_ONNX ? "--weights" : NULL;
  if (unused)
    usage_error(strcmp(unused, "--weights") == 0 ? "%s applies to compiled code (an executable, -c, -S or --emit-llvm) "
                                                   "and --emit-onnx"
                                                 : "%s applies to compiled code (an executable, -c, -S or --emit-llvm)",
                unused);
}

static void parse_args(Options *o, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  o->backend.opt_level = 3;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_text, stdout);
      exit(0);
    }
    if (strcmp(a, "--version") == 0) {
      printf("nnc %s (LLVM %s)\n", NNC_VERSION, backend_llvm_version());
      exit(0);
    }
    if (parse_flag(o, argc, argv, &i)) continue;
    if (a[0] == '-' && a[1] != 0) usage_error("unknown option '%s'", a);
    if (o->input) usage_error("more than one input file ('%s')", a);
    o->input = a;
  }
  if (!o->input) usage_error("no input file%s", "");
  refuse_unused_options(o);
}

/* The largest source nnc reads: a bound for /dev/zero, a pipe that never ends, or a file
 * that is not a network; far beyond the largest network nnc compiles. The same bound holds
 * for an ONNX model (ONNX_MAX_BYTES). */
#define MAX_SOURCE_BYTES ((size_t)64 << 20)
_Static_assert(MAX_SOURCE_BYTES == ONNX_MAX_BYTES, "one bound for every input");

static char *give_up(FILE *f, char *buf) {
  fclose(f);
  free(buf);
  return NULL;
}

/* Reads the whole file (a regular file, a pipe or a device), at most MAX_SOURCE_BYTES;
 * NULL (with a message) if it cannot be read or is larger. */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "nnc: error: cannot open '%s': %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, n = 0, got;
  char *buf = xmalloc(cap);
  errno = 0;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n > MAX_SOURCE_BYTES) {
      fprintf(stderr, "nnc: error: '%s': %s larger than %zu MiB\n", path,
              onnx_is_model(path, buf, n) ? "model" : "source", MAX_SOURCE_BYTES >> 20);
      return give_up(f, buf);
    }
    if (cap - n - 1 == 0) buf = xrealloc(buf, cap *= 2);
  }
  if (ferror(f)) {
    fprintf(stderr, "nnc: error: cannot read '%s': %s\n", path, strerror(errno ? errno : EIO));
    return give_up(f, buf);
  }
  fclose(f);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* A dump goes to -o FILE (written whole or not at all) or to standard output. */
static int dump(const Options *o, const AstFile *ast, const IrNetwork *net) {
  OutFile file;
  FILE *out = out_open(&file, o->output ? o->output : "-");
  if (!out) return 1;
  if (o->action == ACT_AST) ast_dump(ast, out);
  if (o->action == ACT_IR) ir_dump(net, out);
  if (o->action == ACT_DOT) ir_dump_dot(net, out);
  return out_commit(&file) ? 0 : 1;
}

/* --emit-nn: the imported network's source to -o FILE.nn (or NAME.nn; '-': standard output)
 * and its parameters to FILE.weights (NAME.weights), each written whole or not at all. */
static int write_nn(const Options *o, const OnnxModel *onnx, const IrNetwork *net, const char *out,
                    const char *weights) {
  int refused = out_check(out, NULL, o->input, NULL);
  if (!refused) refused = out_check(weights, NULL, o->input, NULL); /* the second output */
  if (refused) return refused;
  size_t len;
  const char *text = onnx_nn_source(onnx, &len);
  OutFile file; /* the source is committed only once the weights are saved */
  FILE *f = out_open(&file, out);
  if (!f) return 1;
  fwrite(text, 1, len, f);
  void *params = onnx_params(onnx, net);
  nnc_model m = {.abi_version = NNC_ABI_VERSION, .name = net->name, .fingerprint = net->fingerprint,
                 .real_bytes = net->real_bytes, .n_inputs = net->n_inputs, .n_outputs = net->n_outputs,
                 .n_params = net->n_params, .classifier = net->classifier, .train = &net->train};
  nnrt_error err;
  int ok = nnrt_weights_save(weights, &m, params, NULL, &err) == NNRT_OK;
  free(params);
  if (!ok) {
    out_abort(&file);
    if (err.code == NNRT_ENOMEM) xoom("writing the weights");
    fprintf(stderr, "nnc: error: %s\n", err.msg);
    return 1;
  }
  return out_commit(&file) ? 0 : 1;
}

static int emit_nn(const Options *o, const OnnxModel *onnx, const IrNetwork *net) {
  const double *offset, *mul;
  if (onnx_input_scaling(onnx, &offset, &mul) != NNC_SCALE_NONE) {
    fprintf(stderr, "%s: error: --emit-nn: the model scales its inputs before its first layer (Sub, Mul or Div by "
            "constants); a .nn source states input scaling only as fitted on its training data ('scale'): compile "
            "the model itself (nnc %s)\n", o->input, o->input);
    return 1;
  }
  size_t cap = strlen(net->name) + (o->output ? strlen(o->output) : 0) + 16;
  char *source = xmalloc(cap), *weights = xmalloc(cap);
  const char *out = o->output;
  if (!out) snprintf(source, cap, "%s.nn", net->name), out = source;
  size_t n = strlen(out);
  if (strcmp(out, "-") == 0) snprintf(weights, cap, "%s.weights", net->name);
  else if (n > 3 && strcmp(out + n - 3, ".nn") == 0) snprintf(weights, cap, "%.*s.weights", (int)(n - 3), out);
  else snprintf(weights, cap, "%s.weights", out);
  int status = write_nn(o, onnx, net, out, weights);
  free(source);
  free(weights);
  return status;
}

/* --emit-onnx: the weights are the file's, or an imported model's own. */
static int emit_onnx(const Options *o, const IrNetwork *net, const OnnxModel *onnx) {
  BackendOptions b = o->backend;
  b.output = o->output;
  b.weights = o->weights;
  b.params = onnx && !o->weights ? onnx_params(onnx, net) : NULL;
  if (b.params) b.scale_mode = onnx_input_scaling(onnx, &b.scale_offset, &b.scale_mul);
  int status = backend_emit_onnx(net, &b);
  free((void *)b.params);
  return status;
}

static int run_backend(const Options *o, const IrNetwork *net, const OnnxModel *onnx) {
  BackendOptions b = o->backend;
  b.output = o->output;
  b.header = o->header;
  b.weights = o->weights;
  b.params = onnx && !o->weights ? onnx_params(onnx, net) : NULL;
  if (b.params) b.scale_mode = onnx_input_scaling(onnx, &b.scale_offset, &b.scale_mul);
  b.kind = o->action == ACT_OBJECT ? OUT_OBJECT
         : o->action == ACT_ASSEMBLY ? OUT_ASSEMBLY
         : o->action == ACT_LLVM ? OUT_LLVM
         : OUT_EXECUTABLE;
  int status = backend_run(net, &b);
  free((void *)b.params);
  return status;
}

/* Parses and checks the source the ONNX importer wrote. Its diagnostics are the importer's
 * bugs: shown, after the source, as an internal error. */
static IrNetwork *check_imported(const Source *src, AstFile **ast, Arena *arena) {
  char *log = NULL;
  size_t log_len = 0;
  FILE *err = open_memstream(&log, &log_len);
  if (!err) return fputs("nnc: error: out of memory\n", stderr), NULL;
  Diag diag;
  diag_init(&diag, src, err);
  *ast = ast_parse(src, arena, &diag);
  IrNetwork *net = diag.errors ? NULL : sema_check(*ast, src->path, arena, &diag);
  fclose(err);
  if (!net)
    fprintf(stderr, "nnc: internal error: the network imported from '%s' does not check:\n%s\n%s", src->path, src->text, log);
  free(log);
  return net;
}

void nnc_install_oom_handlers(void); /* oom.cpp */

int main(int argc, char **argv) {
  nnc_install_oom_handlers();
  Options o;
  parse_args(&o, argc, argv);
  if (o.action == ACT_EXECUTABLE && o.output && strcmp(o.output, "-") == 0)
    usage_error("an executable cannot be written to standard output (-o -); give a file name%s", "");
  if (o.action == ACT_ONNX && o.output && strcmp(o.output, "-") == 0)
    usage_error("an ONNX model cannot be written to standard output (-o -); give a file name%s", "");
  int refused = out_check(o.output, o.header, o.input, o.weights);
  if (refused) return refused;
  Source src = {o.input, NULL, 0};
  char *text = read_file(o.input, &src.len);
  if (!text) return 1;
  src.text = text;
  OnnxModel *onnx = NULL;
  if (onnx_is_model(o.input, text, src.len)) {
    onnx = onnx_import(o.input, (const unsigned char *)text, src.len, stderr);
    if (!onnx) return free(text), 1;
    src.text = onnx_nn_source(onnx, &src.len);
  } else if (o.action == ACT_NN) {
    usage_error("--emit-nn reads an ONNX model; '%s' is not one", o.input);
  }
  Arena arena = {0};
  Diag diag;
  diag_init(&diag, &src, stderr);

  AstFile *ast = onnx ? NULL : ast_parse(&src, &arena, &diag);
  IrNetwork *imported = onnx ? check_imported(&src, &ast, &arena) : NULL;
  int status;
  if (onnx && !imported) {
    status = 3;
  } else if (o.action == ACT_AST && diag.errors == 0) {
    status = dump(&o, ast, NULL);
  } else {
    IrNetwork *net = onnx ? imported : diag.errors ? NULL : sema_check(ast, o.input, &arena, &diag);
    if (!net) status = 1;
    else if (ir_verify(net, stderr)) status = 3;
    else if (o.action == ACT_CHECK) status = 0;
    else if (o.action == ACT_IR || o.action == ACT_DOT) status = dump(&o, ast, net);
    else if (o.action == ACT_NN) status = emit_nn(&o, onnx, net);
    else if (o.action == ACT_ONNX) status = emit_onnx(&o, net, onnx);
    else if (refuse_reserved_name(&o, net, &diag, onnx != NULL)) status = 1;
    else status = run_backend(&o, net, onnx);
  }
  diag_finish(&diag);
  if (diag.errors && status == 0) status = 1;
  arena_free(&arena);
  onnx_free(onnx);
  free(text);
  return status;
}
