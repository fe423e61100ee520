/* header.c — writes the C header of a compiled network (nnc --header FILE).
 * Consumes: the network IR and the symbol prefix (--prefix, by default the network's name).
 * Produces: PREFIX.h declaring the functions and the descriptor of the object, with the
 * sizes as PREFIX_... macros in capitals, so a C program can call the model directly; written
 * whole or not at all (output.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc/cpu_features.h"

#include "codegen.h"
#include "output.h"

/* precision bf16: the batch's buffers, then the products' workspace, whose largest product
 * may change with the batch: one size for each padded batch of a chunk. */
static void write_forward_scratch_bf16(FILE *f, const char *up, CgForwardScratch s) {
  fprintf(f, "#define %s_FORWARD_SCRATCH_BYTES(n) \\\n  ((n) < 1 ? (int64_t)0 : (n) == 1 ? (int64_t)%lld", up,
          (long long)s.one);
  int i = 0;
  for (; i + 1 < 4 && s.bf16[i + 1]; i++)
    fprintf(f, " \\\n   : (n) <= %lld ? (int64_t)%lld", (long long)(s.align * (i + 1)), (long long)s.bf16[i]);
  fprintf(f, " \\\n   : (int64_t)%lld)\n", (long long)s.bf16[i]);
}

/* NAME_FORWARD_SCRATCH_BYTES(n): exactly what forward alone touches for n samples (the
 * batch kernels take at most `chunk` samples at a time); a constant expression for n constant. */
static void write_forward_scratch(FILE *f, const char *up, CgForwardScratch s) {
  fprintf(f, "/* Scratch of the forward pass alone, exactly; every function: %s_SCRATCH_BYTES(n). */\n", up);
  if (!s.per_sample) {
    fprintf(f, "#define %s_FORWARD_SCRATCH_BYTES(n) ((n) < 1 ? (int64_t)0 : (int64_t)%lld)\n", up, (long long)s.one);
    return;
  }
  if (s.bf16[0]) {
    write_forward_scratch_bf16(f, up, s);
    return;
  }
  fprintf(f, "#define %s_FORWARD_SCRATCH_BYTES(n) \\\n"
             "  ((n) < 1 ? (int64_t)0 : (n) == 1 ? (int64_t)%lld \\\n"
             "   : (int64_t)%lld * ((((n) < %lld ? (int64_t)(n) : (int64_t)%lld) + %lld) / %lld * %lld) - %lld)\n",
          up, (long long)s.one, (long long)s.per_sample, (long long)s.chunk, (long long)s.chunk,
          (long long)(s.align - 1), (long long)s.align, (long long)s.align, (long long)s.row_tail);
}

/* A network with dropout: loss_grad, train_step and loss_grad_update apply the masks their
 * caller writes. */
static void write_dropout(FILE *f, const IrNetwork *n, const char *nm, const char *up) {
  fprintf(f, "/* Dropout: loss_grad, train_step and loss_grad_update multiply the outputs and deltas of\n"
             "   %1$s_N_DROPOUT units by the mask of each sample s, %1$s_N_DROPOUT reals (0 or\n"
             "   1/(1 - p), all 1 for none) that the caller writes at byte\n"
             "   %1$s_DROPOUT_MASK_OFFSET + s * %1$s_N_DROPOUT * %1$s_PRECISION of scratch\n"
             "   before the call (libnnrt's trainer does; see %4$s_model.dropout_rates). */\n"
             "#define %1$s_N_DROPOUT %2$lld\n#define %1$s_DROPOUT_MASK_OFFSET %3$lld\n\n",
          up, (long long)n->n_dropout, (long long)cg_dropout_mask_offset(n), nm);
}

int emit_header(const IrNetwork *n, const char *prefix, const char *path, int vec_bytes, int embedded, int quantize,
                uint64_t x86_features);

/* s in capitals, whole however long (the macros' prefix); the caller frees it. */
static char *upper(const char *s) {
  size_t n = strlen(s);
  char *up = xmalloc(n + 1);
  for (size_t i = 0; i <= n; i++) up[i] = (char)toupper((unsigned char)s[i]);
  return up;
}

/* A quantized object: the scheme as a macro, and what it means. */
static void write_quantized(FILE *f, const char *up, CgQuantize q, int scaled) {
  fprintf(f, "/* Compiled with trained weights quantized to %1$s: the weights of every dense layer are\n"
             "   %2$s;\n"
             "   biases and single edges stay float, and so do x and y. forward and evaluate use the\n"
             "   compiled-in weights and ignore params (it may be NULL); init writes the weights they\n"
             "   compute with, dequantized, into params.%3$s */\n"
             "#define %4$s_QUANTIZE \"%1$s\"\n\n",
          cg_quant_name(q),
          q == CG_QUANT_BF16 ? "bfloat16 (rounded to nearest even), multiplied and summed in float"
                             : "int8 with one scale per neuron (max |w| / 127); each layer's input is\n"
                               "   quantized per sample (max |x| / 127), products summed in int32, then scaled to float",
          scaled ? "\n   x holds raw inputs: forward and evaluate apply the input scaling the weights\n"
                   "   were trained with (the `scale` of the data source) themselves." : "",
          up);
}

/* Code for x86-64: the extensions it needs of the CPU, and AMX's permission where it uses tiles. */
static void write_x86_features(FILE *f, const char *nm, const char *up, uint64_t bits) {
  fprintf(f, "/* The code uses these x86-64 extensions (nnc --cpu, --features): a CPU without one of them\n"
             "   stops it at an illegal instruction. libnnrt's nnrt_cpu_check(&%s_model, &err) tests a\n"
             "   CPU. */\n#define %s_X86_FEATURES \"", nm, up);
  for (int i = 0, first = 1; i < 64; i++)
    if (bits >> i & 1 && nnc_x86_feature_name(i)) fprintf(f, "%s%s", first ? "" : ",", nnc_x86_feature_name(i)), first = 0;
  fputs("\"\n\n", f);
  if (bits & NNC_X86_AMX)
    fprintf(f, "/* forward and evaluate compute batches (n > 1) on AMX tiles, which Linux lets a process\n"
               "   use only once it has asked, before the first such call:\n"
               "     syscall(SYS_arch_prctl, 0x1023, 18);  (ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)\n"
               "   nnrt_cpu_check asks for it; without it the first batch ends the process (SIGILL). */\n"
               "#define %s_USES_AMX 1\n\n", up);
}

/* %1$s: the network's name, %2$s: the same in capitals (the macros' prefix). */
static void write_inference_prototypes(FILE *f, const char *nm, const char *up, int embedded, int scaled) {
  if (embedded)
    fprintf(f, "/* Compiled with trained weights (the constant %1$s_weights): forward and evaluate\n"
               "   use them and ignore params (it may be NULL); init copies them into params.%3$s */\n"
               "extern const %1$s_real %1$s_weights[%2$s_N_PARAMS > 0 ? %2$s_N_PARAMS : 1];\n\n", nm, up,
            scaled ? "\n   x holds raw inputs: forward and evaluate apply the input scaling the weights\n"
                     "   were trained with (the `scale` of the data source) themselves." : "");
  fprintf(f,
          "/* Parameters from the .nn init scheme and literal weights; deterministic in seed. */\n"
          "void %1$s_init(%1$s_real *params, uint64_t seed);\n\n"
          "/* y[n][%2$s_N_OUTPUTS] = network(x[n][%2$s_N_INPUTS]);\n"
          "   scratch: %2$s_FORWARD_SCRATCH_BYTES(n) bytes, 64-byte aligned. */\n"
          "void %1$s_forward(const %1$s_real *params, int64_t n, const %1$s_real *x, %1$s_real *y,\n"
          "                  void *scratch);\n\n"
          "/* y = network(x) and the summed loss against t (no backward pass);\n"
          "   scratch: %2$s_SCRATCH_BYTES(n) bytes, 64-byte aligned. */\n"
          "double %1$s_evaluate(const %1$s_real *params, int64_t n, const %1$s_real *x,\n"
          "                     const %1$s_real *t, %1$s_real *y, void *scratch);\n\n",
          nm, up);
}

static void write_training_prototypes(FILE *f, const char *nm) {
  fprintf(f,
          "/* Adds dL/dparams summed over n samples into grad; returns the summed loss. */\n"
          "double %1$s_loss_grad(const %1$s_real *params, int64_t n, const %1$s_real *x,\n"
          "                      const %1$s_real *t, %1$s_real *grad, void *scratch);\n\n"
          "/* One SGD step on a batch of n samples (forward, backward, update with momentum;\n"
          "   n = 1 without momentum is the fused per-sample step). Returns the summed loss. */\n"
          "double %1$s_train_step(%1$s_real *params, %1$s_real *velocity, int64_t n,\n"
          "                       const %1$s_real *x, const %1$s_real *t, double rate,\n"
          "                       double momentum, void *scratch);\n\n"
          "/* Per-sample SGD over n samples in order, sample s with step rates[s] (no momentum):\n"
          "   n train steps of one sample, each update sharing its pass over the weights with\n"
          "   the next sample's forward products. Returns the summed loss. */\n"
          "double %1$s_train_sequence(%1$s_real *params, int64_t n, const %1$s_real *x,\n"
          "                           const %1$s_real *t, const double *rates, void *scratch);\n\n"
          "/* The summed gradient of n >= 1 samples stored into grad, each range [lo, hi) of it\n"
          "   passed to update(ctx, lo, hi) once complete and no longer read by the backward\n"
          "   sweep (an optimizer's step beside it; nnc/model.h). Returns the summed loss. */\n"
          "double %1$s_loss_grad_update(%1$s_real *params, int64_t n, const %1$s_real *x,\n"
          "                             const %1$s_real *t, %1$s_real *grad, void *scratch,\n"
          "                             void (*update)(void *ctx, int64_t lo, int64_t hi), void *ctx);\n\n",
          nm);
}

/* Networks with batch kernels: the SGD step that threads share (nnc/model.h). */
static void write_owner_prototypes(FILE *f, const char *nm) {
  fprintf(f,
          "/* An SGD step on a batch (no momentum) shared by threads, each computing what it\n"
          "   owns: train_deltas on each part of the batch (its own scratch), then, once every\n"
          "   part is done, train_rows by each part for the rows of every layer it owns. The\n"
          "   parameters are those of train_step on the whole batch (nnc/model.h). */\n"
          "double %1$s_train_deltas(const %1$s_real *params, int64_t n, const %1$s_real *x,\n"
          "                         const %1$s_real *t, void *scratch);\n"
          "void %1$s_train_rows(%1$s_real *params, int64_t n_parts, const int64_t *ns,\n"
          "                     const void *const *xs, void *const *scratches, double rate,\n"
          "                     int64_t part, int64_t of);\n\n",
          nm);
}

/* s inside a C comment: a backslash between the two characters of every star-slash and
 * slash-star, which would end the comment early or nest one (a source "d*<slash>m.nn"). */
static void write_comment_text(FILE *f, const char *s) {
  for (; *s; s++) {
    fputc(*s, f);
    if ((s[0] == '*' && s[1] == '/') || (s[0] == '/' && s[1] == '*')) fputc('\\', f);
  }
}

/* The macros a header defines, after PREFIX_ in capitals; the later ones only where their
 * condition holds (a quantized object, code for x86-64 and AMX, dropout in training code). */
static const char *const always_macros[] = {"N_INPUTS", "N_OUTPUTS", "N_PARAMS", "SCRATCH_BYTES",
                                            "FORWARD_SCRATCH_BYTES", "PRECISION"};

/* Two headers in one program may not define one macro two ways: prefixes equal in capitals
 * (net and NET) or one ending where another's macro name goes on (a and a_forward: both
 * A_FORWARD_SCRATCH_BYTES) would give a size of the other model, silently where the values
 * happen to agree or where the include guard made the second header vanish. So the guard
 * keeps the prefix's own case, and the header stops the compilation, naming the fix, if any
 * of its macros is already defined. */
static void write_macro_check(FILE *f, const char *nm, const char *up, const char *const *extra, int n_extra) {
  const char *sep = "#if ";
  for (size_t i = 0; i < sizeof always_macros / sizeof *always_macros; i++, sep = " || \\\n    ")
    fprintf(f, "%sdefined(%s_%s)", sep, up, always_macros[i]);
  for (int i = 0; i < n_extra; i++) fprintf(f, " || \\\n    defined(%s_%s)", up, extra[i]);
  fprintf(f, "\n#error \"%s.h: one of its macros %s_... is already defined, by the header of another model "
             "whose prefix is the same in capitals or continues into a macro name of this one (a and a_forward "
             "both define A_FORWARD_SCRATCH_BYTES): compile one of the models with another nnc --prefix\"\n#endif\n\n",
          nm, up);
}

int emit_header(const IrNetwork *n, const char *prefix, const char *path, int vec_bytes, int embedded, int quantize,
                uint64_t x86_features) {
  OutFile out;
  FILE *f = out_open(&out, path);
  if (!f) return 0;
  const char *nm = prefix;
  char *up = upper(nm);
  fprintf(f, "/* %s.h — generated by nnc from ", nm);
  write_comment_text(f, n->source_path);
  fprintf(f, " (network %s). Do not edit.\n"
             " * All buffers belong to the caller; the functions keep no state, so several\n"
             " * models and threads may run at once. */\n", n->name);
  fprintf(f, "#ifndef NNC_MODEL_%s_H\n#define NNC_MODEL_%s_H\n\n", nm, nm);
  fprintf(f, "#include <stdint.h>\n\n#include <nnc/model.h>\n\n");
  const char *extra[5];
  int n_extra = 0;
  if (quantize) extra[n_extra++] = "QUANTIZE";
  if (x86_features) extra[n_extra++] = "X86_FEATURES";
  if (x86_features & NNC_X86_AMX) extra[n_extra++] = "USES_AMX";
  if (!embedded && n->n_dropout) extra[n_extra++] = "N_DROPOUT", extra[n_extra++] = "DROPOUT_MASK_OFFSET";
  write_macro_check(f, nm, up, extra, n_extra);
  fprintf(f, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
  fprintf(f, "#define %s_N_INPUTS %d\n", up, n->n_inputs);
  fprintf(f, "#define %s_N_OUTPUTS %d\n", up, n->n_outputs);
  fprintf(f, "#define %s_N_PARAMS %lld\n", up, (long long)n->n_params);
  fprintf(f, "#define %s_SCRATCH_BYTES(n) ((int64_t)%lld + (int64_t)(n) * %lld)\n", up,
          (long long)cg_scratch_bytes(n, vec_bytes), (long long)cg_scratch_per_sample(n, vec_bytes));
  CgForwardScratch fs = cg_forward_scratch(n, vec_bytes);
  if (quantize) fs.per_sample = 0; /* quantized: every sample through the per-sample code */
  write_forward_scratch(f, up, fs);
  fprintf(f, "#define %s_PRECISION %d /* bytes per real */\n\n", up, n->real_bytes);
  fprintf(f, "typedef %s %s_real;\n\n", n->real_bytes == 8 ? "double" : "float", nm);
  int scaled = n->train.data.scale != NNC_SCALE_NONE;
  if (quantize) write_quantized(f, up, (CgQuantize)quantize, scaled);
  if (x86_features) write_x86_features(f, nm, up, x86_features);
  write_inference_prototypes(f, nm, up, embedded && !quantize, scaled);
  if (!embedded) write_training_prototypes(f, nm);
  if (!embedded && cg_batch_eligible(n)) write_owner_prototypes(f, nm);
  if (!embedded && n->n_dropout) write_dropout(f, n, nm, up);
  fprintf(f, "/* The descriptor libnnrt drives the model through (nnc/model.h). */\n"
             "extern const nnc_model %s_model;\n", nm);
  fputs("\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n", f);
  free(up);
  return out_commit(&out);
}
