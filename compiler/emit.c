/* emit.c — turns the network IR into files through LLVM: textual IR, assembly, objects,
 * the C header of the generated functions, and executables linked with libnnrt by the
 * system C compiler driver.
 * Consumes: a verified IrNetwork and the back-end options. Produces: the requested file,
 * written whole or not at all (output.c); LLVMVerifyModule runs on every module before it is
 * optimised or emitted. A default output name (NAME, NAME.o, ...) that names an input is
 * refused as an explicit -o is by the driver. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "nnc/cpu_features.h"

#include "backend.h"
#include "codegen.h"
#include "export.h"
#include "output.h"
#include "nnc/nnrt.h"

const char *backend_llvm_version(void) {
  static char buf[32];
  unsigned major, minor, patch;
  LLVMGetVersion(&major, &minor, &patch);
  snprintf(buf, sizeof buf, "%u.%u.%u", major, minor, patch);
  return buf;
}

/* --- target ------------------------------------------------------------------------- */

typedef struct Target {
  char *triple, *cpu, *features; /* LLVM-owned strings */
  const char *said;              /* the features as the command line gave them, for messages */
  LLVMTargetMachineRef tm;
  CgVectorUnit vec; /* widest vector registers worth using, how many, fused multiply-add */
} Target;

static char *llvm_strdup(const char *s) { return LLVMCreateMessage(s); }

/* LLVM only warns about an unknown CPU or feature and may then abort later in code
 * generation, so a CPU or feature list from the command line is tried first in a child
 * process: it compiles an empty function and its complaints are read back. Returns 1 if
 * LLVM took them silently. */
static int target_accepts(LLVMTargetRef target, const Target *t, char *complaint, size_t cap) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, LLVMCodeGenLevelNone,
                                                      LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("probe", ctx);
    LLVMSetTarget(m, t->triple);
    LLVMValueRef fn = LLVMAddFunction(m, "probe", LLVMFunctionType(LLVMVoidTypeInContext(ctx), NULL, 0, 0));
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMBuildRetVoid(b);
    char *err = NULL;
    LLVMMemoryBufferRef buf;
    _exit(tm && !LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &err, &buf) ? 0 : 1);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t got;
  while (n + 1 < cap && (got = read(fds[0], complaint + n, cap - n - 1)) > 0) n += (size_t)got;
  complaint[n] = 0;
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 && !strstr(complaint, "is not a recognized");
}

/* The first line of LLVM's complaint, without its trailing newline. */
static const char *first_line(char *text) {
  char *nl = strchr(text, '\n');
  if (nl) *nl = 0;
  return text;
}

/* A triple without an operating system (arm-none-eabi, riscv32-unknown-elf): code for a fixed
 * address, no GOT, and the descriptor in read-only data rather than .data.rel.ro. */
static int bare_metal(const char *normalized_triple) {
  const char *os = strchr(normalized_triple, '-');
  os = os ? strchr(os + 1, '-') : NULL;
  return os && (strncmp(os + 1, "none", 4) == 0 || strncmp(os + 1, "unknown", 7) == 0);
}

int nnc_target_has_feature(LLVMTargetMachineRef tm, const char *feature); /* target_features.cpp */

/* The widest vector registers worth using on the machine's CPU with its features, whether
 * both came from the command line, the CPU alone (its own features) or the host. */
static int vector_bytes(LLVMTargetMachineRef tm) {
  return nnc_target_has_feature(tm, "avx512f") ? 64 : nnc_target_has_feature(tm, "avx") ? 32 : 16;
}

/* The vector registers of that width: 32 with AVX-512 and 16 otherwise on x86-64 (8 in 32-bit
 * mode), 32 on AArch64, 16 quad registers with 32-bit Arm NEON; a target without vector registers
 * (Cortex-M4: 32 single-precision ones) or unknown counts as 8. */
static int vector_registers(const Target *t) {
  const char *a = t->triple;
  if (!strncmp(a, "x86_64", 6)) return nnc_target_has_feature(t->tm, "avx512f") ? 32 : 16;
  if (!strncmp(a, "aarch64", 7) || !strncmp(a, "arm64", 5)) return 32;
  if ((!strncmp(a, "arm", 3) || !strncmp(a, "thumb", 5)) && nnc_target_has_feature(t->tm, "neon")) return 16;
  return 8;
}

/* Fused multiply-add in vector registers: FMA3 or AVX-512 on x86, always on AArch64, VFPv4 on
 * 32-bit Arm (vfp4d16sp: the Cortex-M4's FPv4-SP and every larger VFPv4). */
static int vector_fma(const Target *t) {
  const char *a = t->triple;
  if (!strncmp(a, "x86_64", 6) || a[0] == 'i') return nnc_target_has_feature(t->tm, "fma") || nnc_target_has_feature(t->tm, "avx512f");
  if (!strncmp(a, "aarch64", 7) || !strncmp(a, "arm64", 5)) return 1;
  if (!strncmp(a, "arm", 3) || !strncmp(a, "thumb", 5)) return nnc_target_has_feature(t->tm, "vfp4d16sp");
  return 0;
}

/* The x86-64 extensions of nnc/cpu_features.h the target's CPU and features enable; 0 on
 * other architectures. */
static uint64_t x86_features(const Target *t) {
  if (strncmp(t->triple, "x86_64", 6)) return 0;
  uint64_t bits = 0;
#define HAS(bit, name, leaf, sub, reg, rbit, os) bits |= (uint64_t)nnc_target_has_feature(t->tm, name) << (bit);
  NNC_X86_FEATURES(HAS)
#undef HAS
  return bits;
}

static CgVectorUnit vector_unit(const Target *t) {
  return (CgVectorUnit){vector_bytes(t->tm), vector_registers(t), vector_fma(t), x86_features(t)};
}

/* What the quantized kernels may call: vpdpbusd and vdpbf16ps on zmm registers, AMX tiles
 * beside them, the Armv8.2 dot product (sdot) on aarch64's 128-bit registers (not 32-bit
 * Arm's, whose intrinsic differs). The bf16 kernels round f32 to bf16 with vcvtneps2bf16,
 * which LLVM selects only with AVX512VL beside AVX512-BF16 (else it calls __truncsfbf2, a
 * library function the object must not need). All of them need zmm registers: EVEX512 (LLVM
 * loops or stops on their intrinsics without it). */
static unsigned quant_isa(const Target *t) {
  int aarch64 = strncmp(t->triple, "aarch64", 7) == 0 || strncmp(t->triple, "arm64", 5) == 0;
  if (aarch64 && nnc_target_has_feature(t->tm, "dotprod")) return CG_ISA_SDOT128;
  if (t->vec.bytes != 64 || !nnc_target_has_feature(t->tm, "evex512")) return 0;
  int tiles = nnc_target_has_feature(t->tm, "amx-tile");
  return (nnc_target_has_feature(t->tm, "avx512vnni") ? CG_ISA_VNNI512 : 0) |
         (nnc_target_has_feature(t->tm, "avx512bf16") && nnc_target_has_feature(t->tm, "avx512vl") ? CG_ISA_BF16_512 : 0) |
         (tiles && nnc_target_has_feature(t->tm, "amx-int8") ? CG_ISA_AMX_INT8 : 0) |
         (tiles && nnc_target_has_feature(t->tm, "amx-bf16") ? CG_ISA_AMX_BF16 : 0);
}

/* This machine's features, then the command line's changes to them: a later entry has the
 * last word in LLVM's list, so `--features -avx512f` alone means this CPU without AVX-512F. The
 * host CPU's name alone would not do: LLVM names a CPU it does not know 'generic' (baseline
 * code) and knows some by an older model's features. */
static char *host_features_with(const char *changes) {
  char *host = LLVMGetHostCPUFeatures();
  if (!changes)
    return host;
  size_t a = strlen(host), b = strlen(changes);
  char *both = malloc(a + b + 2);
  if (!both) {
    LLVMDisposeMessage(host);
    return llvm_strdup(changes);
  }
  snprintf(both, a + b + 2, "%s%s%s", host, a ? "," : "", changes);
  char *out = llvm_strdup(both);
  free(both);
  LLVMDisposeMessage(host);
  return out;
}

/* A 32-bit Arm triple with the hard-float ABI (eabihf, gnueabihf, musleabihf): floats are
 * passed and returned in FPU registers. */
static int arm_hard_float(const char *normalized_triple) {
  size_t n = strlen(normalized_triple);
  return (!strncmp(normalized_triple, "arm", 3) || !strncmp(normalized_triple, "thumb", 5)) && n > 2 &&
         !strcmp(normalized_triple + n - 2, "hf");
}

/* The FPU every CPU of an Arm hard-float architecture has, as clang picks it for the triple,
 * but single precision alone on M-profile (the Cortex-M4's and M33's FPUs): v7-A/R Linux
 * distributions (and clang) assume VFPv3-D16, 16 double registers and no NEON, and LLVM's
 * generic v7 has 32; its generic v6, v7E-M and v8-M have no FPU at all, and then return
 * evaluate's double in core registers where the ABI and its callers read d0. */
static const char *arm_hard_float_fpu(const char *normalized_triple) {
  const char *v = normalized_triple + (normalized_triple[0] == 'a' ? 3 : 5);
  if (!strncmp(v, "eb", 2)) v += 2;
  if (!strncmp(v, "v7em", 4)) return "+vfp4d16sp";
  if (!strncmp(v, "v8m.main", 8) || !strncmp(v, "v8.1m.main", 10)) return "+fp-armv8d16sp";
  if (!strncmp(v, "v7m", 3) || !strncmp(v, "v6m", 3) || !strncmp(v, "v8m.base", 8)) return NULL; /* no FPU */
  if (!strncmp(v, "v7", 2)) return "+vfp3d16,-d32,-neon";
  if (!strncmp(v, "v6", 2) || v[0] == '-' || v[0] == 0) return "+vfp2";
  return NULL;
}

/* What code for a triple is compiled for when no --cpu names a CPU, where LLVM's generic CPU
 * would give objects the system's programs cannot link with or call correctly; NULL for the
 * rest. RISC-V Linux code is rv64gc / rv32gc (what clang and GCC compile for such a triple),
 * and the F and D extensions decide its floating-point ABI (lp64d): LLVM's generic RISC-V CPU
 * alone is rv64i with the soft-float ABI, an object no program of that system links with. An
 * Arm hard-float triple needs an FPU (arm_hard_float_fpu). */
static const char *triple_default_features(const char *normalized_triple) {
  if (!strncmp(normalized_triple, "riscv", 5) && strstr(normalized_triple, "-linux")) return "+m,+a,+f,+d,+c";
  if (arm_hard_float(normalized_triple)) return arm_hard_float_fpu(normalized_triple);
  return NULL;
}

/* The triple's default features, then the command line's, which have the last word
 * (`--features -d` takes RISC-V's D away again); NULL where the triple has no defaults. */
static char *default_features_with(const char *normalized_triple, const char *changes) {
  const char *base = triple_default_features(normalized_triple);
  if (!base) return NULL;
  if (!changes || !changes[0]) return llvm_strdup(base);
  size_t len = strlen(base) + strlen(changes) + 2;
  char *both = malloc(len);
  if (!both) return llvm_strdup(changes);
  snprintf(both, len, "%s,%s", base, changes);
  char *out = llvm_strdup(both);
  free(both);
  return out;
}

/* An Arm hard-float triple whose CPU and features have no FPU: LLVM would return evaluate's
 * double in core registers, where callers compiled for the ABI read d0. Refused with a
 * message; 1 if the target is fine. */
static int arm_float_abi_has_fpu(const Target *t) {
  if (!arm_hard_float(t->triple) || nnc_target_has_feature(t->tm, "vfp2sp")) return 1;
  fprintf(stderr,
          "nnc: error: target '%s' passes floats in FPU registers (the hard-float ABI), but CPU '%s' with features "
          "'%s' has no FPU: name a CPU that has one with --cpu (cortex-m4, cortex-a7, ...), add its FPU to --features "
          "(+vfp4d16sp, +vfp3d16, ...), or use the soft-float ABI's triple (eabi, gnueabi)\n",
          t->triple, t->cpu, t->said);
  return 0;
}

/* The target machine for the options; NULL after a message if the target is unknown. */
static int make_target(const BackendOptions *o, Target *t) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  int host = o->triple == NULL;
  t->triple = host ? LLVMGetDefaultTargetTriple() : LLVMNormalizeTargetTriple(o->triple);
  t->cpu = o->cpu ? llvm_strdup(o->cpu) : host ? LLVMGetHostCPUName() : llvm_strdup("generic");
  char *defaults = host || o->cpu ? NULL : default_features_with(t->triple, o->features);
  t->features = host && !o->cpu ? host_features_with(o->features)
              : defaults          ? defaults
                                  : llvm_strdup(o->features ? o->features : "");
  t->said = o->features ? o->features : t->features;
  LLVMTargetRef target;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
    fprintf(stderr, "nnc: error: unknown target '%s': %s\n", o->triple ? o->triple : t->triple, err);
    LLVMDisposeMessage(err);
    return 0;
  }
  char complaint[4096];
  if ((o->cpu || o->features) && !target_accepts(target, t, complaint, sizeof complaint)) {
    if (strstr(complaint, "recognized processor"))
      fprintf(stderr, "nnc: error: unknown CPU '%s' for target '%s'\n", t->cpu, t->triple);
    else if (strstr(complaint, "recognized feature"))
      fprintf(stderr, "nnc: error: --features '%s': %s\n", t->said, first_line(complaint));
    else
      fprintf(stderr, "nnc: error: target '%s' cannot generate code for CPU '%s' with features '%s'%s%s\n",
              t->triple, t->cpu, t->said, complaint[0] ? ": " : "", first_line(complaint));
    return 0;
  }
  LLVMCodeGenOptLevel level = o->opt_level == 0 ? LLVMCodeGenLevelNone
                            : o->opt_level == 1 ? LLVMCodeGenLevelLess
                            : o->opt_level == 2 ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelAggressive;
  LLVMRelocMode reloc = bare_metal(t->triple) ? LLVMRelocStatic : LLVMRelocPIC;
  t->tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, level, reloc, LLVMCodeModelDefault);
  if (!t->tm) {
    fprintf(stderr, "nnc: error: cannot create a target machine for '%s' (cpu '%s')\n", t->triple, t->cpu);
    return 0;
  }
  if (!arm_float_abi_has_fpu(t)) return 0;
  t->vec = vector_unit(t);
  if (level == LLVMCodeGenLevelNone && o->quantize && (quant_isa(t) & (CG_ISA_AMX_INT8 | CG_ISA_AMX_BF16))) {
    /* LLVM's -O0 tile configuration (the fast register allocator's) gives a tile register one
     * shape per configuration: a bf16 sample's tiles of one row beside its weights' tiles of
     * 16 stopped at an invalid configuration (SIGILL). Quantized code with AMX tiles is
     * generated at -O1's code-generation level; its IR stays unoptimised as -O0 asks. */
    LLVMDisposeTargetMachine(t->tm);
    t->tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, LLVMCodeGenLevelLess, reloc,
                                    LLVMCodeModelDefault);
  }
  return 1;
}

/* On ELF targets every function gets a section of its own (as -ffunction-sections), and on
 * bare metal every constant too (-fdata-sections; elsewhere the descriptor's pointers need
 * .data.rel.ro), so that a firmware linked with --gc-sections keeps only what it calls:
 * NAME_forward and NAME_weights without evaluate, init and the descriptor. */
static void set_own_sections(LLVMModuleRef m, const Target *t) {
  if (strstr(t->triple, "apple") || strstr(t->triple, "windows")) return;
  char name[600];
  for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = LLVMGetNextFunction(fn))
    if (!LLVMIsDeclaration(fn) && snprintf(name, sizeof name, ".text.%s", LLVMGetValueName(fn)) < (int)sizeof name)
      LLVMSetSection(fn, name);
  for (LLVMValueRef g = LLVMGetFirstGlobal(m); g && bare_metal(t->triple); g = LLVMGetNextGlobal(g))
    if (LLVMGetLinkage(g) != LLVMPrivateLinkage && LLVMIsGlobalConstant(g) &&
        snprintf(name, sizeof name, ".rodata.%s", LLVMGetValueName(g)) < (int)sizeof name)
      LLVMSetSection(g, name);
}

static void free_target(Target *t) {
  if (t->tm) LLVMDisposeTargetMachine(t->tm);
  LLVMDisposeMessage(t->triple);
  LLVMDisposeMessage(t->cpu);
  LLVMDisposeMessage(t->features);
}

/* Every defined function gets the target's CPU and features, as clang does, and
 * "no-builtins" as with clang -ffreestanding: LLVM then forms no calls to memset, memcpy or
 * any other C library function from loops, so objects link without a C library. */
static void set_target_attributes(LLVMModuleRef m, LLVMContextRef ctx, const Target *t) {
  for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = LLVMGetNextFunction(fn)) {
    if (LLVMIsDeclaration(fn)) continue;
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateStringAttribute(ctx, "no-builtins", 11, "", 0));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(ctx, "target-cpu", 10, t->cpu, (unsigned)strlen(t->cpu)));
    if (t->features[0])
      LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                              LLVMCreateStringAttribute(ctx, "target-features", 15, t->features, (unsigned)strlen(t->features)));
  }
}

static int optimise(LLVMModuleRef m, const Target *t, int level, int unroll) {
  char pipeline[32];
  snprintf(pipeline, sizeof pipeline, "default<O%d>", level);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opts, level >= 2);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, level >= 2);
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, unroll);
  LLVMErrorRef err = LLVMRunPasses(m, pipeline, t->tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (err) {
    char *msg = LLVMGetErrorMessage(err);
    fprintf(stderr, "nnc: internal error: optimisation failed: %s\n", msg);
    LLVMDisposeErrorMessage(msg);
    return 0;
  }
  return 1;
}

/* --- data paths --------------------------------------------------------------------- */

/* A relative data path is taken relative to the directory of the .nn file, as a C compiler
 * takes #include "file", and stored absolute, so that the executable finds its data from any
 * directory; a file that exists is named by its real path (no "..", no symbolic links). */
static const char *resolve_path(const char *path, const char *source_path, char *buf, size_t cap) {
  if (!path || path[0] == '/') return path;
  char *copy = strdup(source_path), dir[PATH_MAX], real[PATH_MAX];
  if (!copy) return path;
  int known = realpath(dirname(copy), dir) != NULL;
  free(copy);
  if (!known) return path;
  snprintf(buf, cap, "%s/%s", strcmp(dir, "/") ? dir : "", path);
  if (realpath(buf, real)) snprintf(buf, cap, "%s", real);
  return buf;
}

/* Data paths are resolved; a checkpoint path stays relative to where training runs. */
typedef struct ResolvedPaths {
  char data[PATH_MAX + 64], data_labels[PATH_MAX + 64], test[PATH_MAX + 64], test_labels[PATH_MAX + 64];
} ResolvedPaths;

static nnc_train_settings resolved_settings(const IrNetwork *n, ResolvedPaths *p) {
  nnc_train_settings t = n->train;
  const char *src = n->source_path;
  t.data.path = resolve_path(t.data.path, src, p->data, sizeof p->data);
  t.data.labels = resolve_path(t.data.labels, src, p->data_labels, sizeof p->data_labels);
  t.test.path = resolve_path(t.test.path, src, p->test, sizeof p->test);
  t.test.labels = resolve_path(t.test.labels, src, p->test_labels, sizeof p->test_labels);
  return t;
}

/* --- outputs ------------------------------------------------------------------------ */

/* The executable trains on the network's data files: no output may replace one. */
static int refuse_data_outputs(const nnc_train_settings *t, const char *output, const char *header) {
  const char *files[] = {t->data.path, t->data.labels, t->test.path, t->test.labels};
  static const char *const what[] = {"training data", "training labels", "test data", "test labels"};
  int rc = 0;
  for (int i = 0; i < 4 && !rc; i++) {
    rc = out_check_data(output, files[i], what[i]);
    if (!rc && header) rc = out_check_data(header, files[i], what[i]);
  }
  return rc;
}

static const char *default_output(const IrNetwork *n, const BackendOptions *o, char *buf, size_t cap) {
  if (o->output) return o->output;
  static const char *const suffix[] = {"", ".o", ".s", ".ll"};
  snprintf(buf, cap, "%s%s", n->name, suffix[o->kind]);
  return buf;
}

/* Every file below goes through output.c: built in memory, then written whole or not at all. */
static int write_bytes(const char *path, const char *bytes, size_t size) {
  OutFile out;
  FILE *f = out_open(&out, path);
  if (!f) return 0;
  if (size) fwrite(bytes, 1, size, f);
  return out_commit(&out);
}

static int write_llvm(LLVMModuleRef m, const char *path) {
  char *text = LLVMPrintModuleToString(m);
  int ok = write_bytes(path, text, strlen(text));
  LLVMDisposeMessage(text);
  return ok;
}

/* Assembly or object code in memory; NULL after a message naming the output. */
static LLVMMemoryBufferRef machine_code(const Target *t, LLVMModuleRef m, LLVMCodeGenFileType type,
                                        const char *output) {
  char *err = NULL;
  LLVMMemoryBufferRef buf;
  if (!LLVMTargetMachineEmitToMemoryBuffer(t->tm, m, type, &err, &buf)) return buf;
  fprintf(stderr, "nnc: error: cannot generate code for '%s': %s\n", output, err ? err : "unknown error");
  LLVMDisposeMessage(err);
  return NULL;
}

static int write_machine_code(const Target *t, LLVMModuleRef m, const char *path, LLVMCodeGenFileType type) {
  LLVMMemoryBufferRef buf = machine_code(t, m, type, path);
  if (!buf) return 0;
  int ok = write_bytes(path, LLVMGetBufferStart(buf), LLVMGetBufferSize(buf));
  LLVMDisposeMemoryBuffer(buf);
  return ok;
}

/* --- linking ------------------------------------------------------------------------ */

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* The directory holding libnnrt.a: $NNC_RUNTIME_DIR, next to an installed nnc
 * (bin/../lib), the build tree (runtime/ beside nnc), then the configured locations. */
static int find_runtime(char *dir, size_t cap) {
  char exe[PATH_MAX], lib[PATH_MAX + 32];
  const char *env = getenv("NNC_RUNTIME_DIR");
  const char *candidates[5] = {env, NULL, NULL, NNC_RUNTIME_DIR, NNC_INSTALL_LIBDIR};
  char c1[PATH_MAX + 16], c2[PATH_MAX + 16];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0) {
    exe[len] = 0;
    char *d = dirname(exe);
    snprintf(c1, sizeof c1, "%s/runtime", d);
    snprintf(c2, sizeof c2, "%s/../lib", d);
    candidates[1] = c1;
    candidates[2] = c2;
  }
  for (int i = 0; i < 5; i++) {
    if (!candidates[i]) continue;
    snprintf(lib, sizeof lib, "%s/libnnrt.a", candidates[i]);
    if (file_exists(lib)) {
      snprintf(dir, cap, "%s", candidates[i]);
      return 1;
    }
  }
  return 0;
}

static int run_command(char *const argv[]) {
  pid_t pid;
  int rc = out_spawn_tool(&pid, argv);
  if (rc != 0) {
    fprintf(stderr, "nnc: error: cannot run '%s': %s\n", argv[0], strerror(rc));
    return 0;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return out_tool_done(), 0;
  out_tool_done();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int link_executable(const char *object, const char *exe, const char *output) {
  char dir[PATH_MAX], libflag[PATH_MAX + 8];
  if (!find_runtime(dir, sizeof dir)) {
    fprintf(stderr, "nnc: error: cannot find the runtime library libnnrt.a (set NNC_RUNTIME_DIR)\n");
    return 0;
  }
  snprintf(libflag, sizeof libflag, "-L%s", dir);
  const char *cc = getenv("CC");
#ifdef NNC_EXTRA_LINK_FLAG
  const char *extra = NNC_EXTRA_LINK_FLAG;
#else
  const char *extra = "-lm";
#endif
#ifndef NNC_DEFAULT_CC
#define NNC_DEFAULT_CC "cc"
#endif
  char *argv[] = {(char *)(cc && *cc ? cc : NNC_DEFAULT_CC), "-o", (char *)exe, (char *)object, libflag, "-lnnrt",
                  "-lz", "-lm", "-lpthread", (char *)extra, NULL};
  if (run_command(argv)) return 1;
  fprintf(stderr, "nnc: error: linking '%s' failed\n", output);
  return 0;
}

/* The object for the linker, in the private directory (no one else can create files there). */
static int write_object(LLVMMemoryBufferRef buf, const char *object, const char *output) {
  FILE *f = fopen(object, "wb");
  size_t n = LLVMGetBufferSize(buf);
  int ok = f && fwrite(LLVMGetBufferStart(buf), 1, n, f) == n;
  if (f && fclose(f) != 0) ok = 0;
  if (!ok) fprintf(stderr, "nnc: error: cannot write '%s': %s\n", output, strerror(errno));
  return ok;
}

/* The object and the linked executable are made in a private directory beside the output
 * (output.c), and the executable is renamed over the output only when the link succeeded. */
static int emit_executable(const Target *t, LLVMModuleRef m, const char *output) {
  LLVMMemoryBufferRef buf = machine_code(t, m, LLVMObjectFile, output);
  OutFile out;
  const char *exe = buf ? out_open_dir(&out, output) : NULL;
  if (!exe) {
    if (buf) LLVMDisposeMemoryBuffer(buf);
    return 0;
  }
  int ok = write_object(buf, out.object, output) && link_executable(out.object, exe, output);
  LLVMDisposeMemoryBuffer(buf);
  if (ok) return out_commit(&out);
  out_abort(&out);
  return 0;
}

/* --- the header --------------------------------------------------------------------- */

int emit_header(const IrNetwork *n, const char *prefix, const char *path, int vec_bytes, int embedded, int quantize,
                uint64_t x86_features);

/* --- embedded weights -------------------------------------------------------------- */

/* Trained weights to compile in and the input scaling they were trained with. */
typedef struct Trained {
  void *params;
  nnrt_scaler *scaler;        /* NULL: the network does not scale its inputs */
} Trained;

/* The scaling the weights need when their file has none: a declared factor is known; z-score
 * and min-max statistics were fitted on data the compiled model must not depend on. */
static int scaling_without_section(const nnc_model *m, const char *path, nnrt_scaler **sc, nnrt_error *err) {
  const nnc_data_source *src = &m->train->data;
  nnrt_dataset empty = {0, m->n_inputs, m->n_outputs, m->real_bytes, 0, NULL, NULL, NULL};
  if (*sc || src->scale == NNC_SCALE_NONE) return NNRT_OK;
  if (src->scale == NNC_SCALE_FACTOR) return nnrt_scaler_fit(&empty, NNC_SCALE_FACTOR, src->scale_factor, sc, err);
  snprintf(err->msg, sizeof err->msg,
           "%s: the weights file has no input scaling, but network '%s' scales its inputs by %s fitted on its "
           "training data; a compiled model needs those statistics (use weights saved by its train command, or "
           "imported with their \"scale\")", path, m->name, src->scale == NNC_SCALE_ZSCORE ? "z-score" : "min-max");
  return err->code = NNRT_EDATA;
}

/* The descriptor of n the runtime's weights reader and ONNX writer check files against:
 * name, fingerprint, sizes, precision and settings (no code). */
static nnc_model model_descriptor(const IrNetwork *n) {
  nnc_model m = {0};
  m.abi_version = NNC_ABI_VERSION;
  m.name = n->name;
  m.fingerprint = n->fingerprint;
  m.real_bytes = n->real_bytes;
  m.n_inputs = n->n_inputs;
  m.n_outputs = n->n_outputs;
  m.n_params = n->n_params;
  m.classifier = n->classifier;
  m.train = &n->train;
  return m;
}

/* Reads a weights file for n with the runtime's own checks (magic, version, fingerprint,
 * count, precision, checksum, a usable scaling section that is the one the network
 * declares); 0 after a message if it does not belong to n. */
static int load_weights(const IrNetwork *n, const char *path, Trained *tw) {
  nnc_model m = model_descriptor(n);
  if (n->train.data.target_scale != NNC_SCALE_NONE) { /* its outputs are in scaled units */
    fprintf(stderr, "nnc: error: network '%s' learns scaled targets (target_scale): compiled with its weights it "
            "would predict scaled values; compile it without --weights and predict with the weights file\n", n->name);
    return 0;
  }
  tw->params = xmalloc((size_t)(n->n_params ? n->n_params : 1) * (size_t)n->real_bytes);
  tw->scaler = NULL;
  nnrt_error err;
  if (nnrt_weights_load(path, &m, tw->params, &tw->scaler, &err) == NNRT_OK &&
      nnrt_scaler_matches(tw->scaler, &m, path, &err) == NNRT_OK &&
      scaling_without_section(&m, path, &tw->scaler, &err) == NNRT_OK)
    return 1;
  if (err.code == NNRT_ENOMEM) xoom("reading the weights");
  fprintf(stderr, "nnc: error: %s\n", err.msg);
  return 0;
}

static void free_trained(Trained *tw) {
  free(tw->params);
  nnrt_scaler_destroy(tw->scaler);
}

/* --- ONNX export --------------------------------------------------------------------- */

/* The descriptor the runtime's ONNX writer reads: sizes, settings and the export plan. */
static nnc_model export_descriptor(const IrNetwork *n, unsigned char *plan, size_t plan_len) {
  nnc_model m = model_descriptor(n);
  m.onnx_plan = plan;
  m.onnx_plan_bytes = (int64_t)plan_len;
  return m;
}

/* The target scaling of the weights is the one the network declares (`target_scale`). */
static int targets_match(const nnc_model *m, const nnrt_weights_extras *x, const char *path, nnrt_error *err) {
  int want = m->train->data.target_scale != NNC_SCALE_NONE, got = x->targets != NULL;
  if (want == got) return NNRT_OK;
  snprintf(err->msg, sizeof err->msg, got ? "%s: the weights were trained on scaled targets, but network '%s' "
           "declares no target scaling" : "%s: no target scaling, but network '%s' scales its targets "
           "(target_scale): use the weights its train command saved", path, m->name);
  return err->code = NNRT_EDATA;
}

/* Trained weights and what they were trained with, checked as the runtime checks them. */
static int load_for_export(const nnc_model *m, const char *path, void *params, nnrt_weights_extras *x) {
  nnrt_error err;
  if (nnrt_weights_load_ex(path, m, params, x, &err) == NNRT_OK &&
      nnrt_scaler_matches(x->scaler, m, path, &err) == NNRT_OK &&
      scaling_without_section(m, path, &x->scaler, &err) == NNRT_OK && targets_match(m, x, path, &err) == NNRT_OK)
    return 1;
  if (err.code == NNRT_ENOMEM) xoom("reading the weights");
  fprintf(stderr, "nnc: error: %s\n", err.msg);
  return 0;
}

int backend_emit_onnx(const IrNetwork *n, const BackendOptions *o) {
  char name[512];
  snprintf(name, sizeof name, "%s.onnx", n->name);
  const char *out = o->output ? o->output : name;
  int refused = o->output ? 0 : out_check(out, NULL, n->source_path, o->weights);
  if (refused) return refused;
  if (!o->weights && !o->params) {
    fprintf(stderr, "nnc: error: --emit-onnx writes a trained network: give its weights (--weights FILE, "
            "saved by './%s train')\n", n->name);
    return 1;
  }
  size_t plan_len, len;
  unsigned char *plan = export_plan(n, &plan_len), *bytes = NULL;
  nnc_model m = export_descriptor(n, plan, plan_len);
  nnrt_weights_extras x = {NULL, NULL, NULL};
  void *params = o->weights ? xmalloc((size_t)(n->n_params ? n->n_params : 1) * (size_t)n->real_bytes) : NULL;
  int status = 1;
  nnrt_error err;
  nnrt_scaler own = {o->scale_mode, n->n_inputs, (double *)o->scale_offset, (double *)o->scale_mul};
  const nnrt_scaler *scaler = !o->weights && o->scale_mode != NNC_SCALE_NONE ? &own : NULL;
  if (!o->weights || load_for_export(&m, o->weights, params, &x)) {
    if (nnrt_onnx_model(&m, params ? params : o->params, x.scaler ? x.scaler : scaler, x.targets, &bytes, &len,
                        &err) == NNRT_OK)
      status = write_bytes(out, (const char *)bytes, len) ? 0 : 1;
    else if (err.code == NNRT_ENOMEM) xoom("writing the ONNX model");
    else fprintf(stderr, "nnc: error: %s\n", err.msg);
  }
  free(bytes);
  free(params);
  free(plan);
  nnrt_weights_extras_clear(&x);
  return status;
}

/* --- entry -------------------------------------------------------------------------- */

static int verify(LLVMModuleRef m) {
  char *msg = NULL;
  if (!LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
    LLVMDisposeMessage(msg);
    return 1;
  }
  fprintf(stderr, "nnc: internal error: generated LLVM IR is invalid:\n%s\n", msg);
  LLVMDisposeMessage(msg);
  return 0;
}

static int emit_module(const Target *t, LLVMModuleRef m, const BackendOptions *o, const char *out) {
  switch (o->kind) {
  case OUT_LLVM: return write_llvm(m, out);
  case OUT_ASSEMBLY: return write_machine_code(t, m, out, LLVMAssemblyFile);
  case OUT_OBJECT: return write_machine_code(t, m, out, LLVMObjectFile);
  case OUT_EXECUTABLE: return emit_executable(t, m, out);
  }
  return 0;
}

/* --- what quantization costs ---------------------------------------------------------- */

/* Adds module m, made for this machine (host) and optimised, to the JIT; returns its
 * descriptor PREFIX_model, or NULL. */
static const nnc_model *jit_add(LLVMOrcLLJITRef jit, LLVMOrcThreadSafeContextRef tsc, LLVMModuleRef m,
                                const Target *host, const IrNetwork *n, const char *model_symbol) {
  LLVMSetTarget(m, host->triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(host->tm);
  LLVMSetModuleDataLayout(m, layout);
  LLVMDisposeTargetData(layout);
  set_target_attributes(m, LLVMGetModuleContext(m), host);
  if (!verify(m) || !optimise(m, host, 2, cg_is_small_network(n))) return LLVMDisposeModule(m), NULL;
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
  LLVMErrorRef err = LLVMOrcLLJITAddLLVMIRModule(jit, LLVMOrcLLJITGetMainJITDylib(jit), tsm);
  LLVMOrcExecutorAddress addr = 0;
  if (!err) err = LLVMOrcLLJITLookup(jit, &addr, model_symbol);
  if (err) {
    char *msg = LLVMGetErrorMessage(err);
    fprintf(stderr, "nnc: internal error: the JIT: %s\n", msg);
    LLVMDisposeErrorMessage(msg);
    return NULL;
  }
  return (const nnc_model *)(uintptr_t)addr;
}

/* The score of model m on d, as "accuracy 97.3%" or "MSE 0.0123", into buf; 0 on failure. */
static int score(const nnc_model *m, const void *params, const nnrt_dataset *d, char *buf, size_t cap) {
  nnrt_metrics mt;
  nnrt_error err;
  memset(&mt, 0, sizeof mt);
  if (nnrt_evaluate(m, params, d, 0, &mt, &err) != NNRT_OK) {
    snprintf(buf, cap, "%s", err.msg);
    return 0;
  }
  if (mt.metric == NNC_METRIC_REGRESSION) snprintf(buf, cap, "MSE %.4g", mt.mse);
  else snprintf(buf, cap, "%s %.2f%%", mt.metric == NNC_METRIC_MULTILABEL ? "exact-match" : "accuracy", 100 * mt.accuracy);
  nnrt_metrics_clear(&mt);
  return 1;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Prints what quantizing costs: the float and the quantized network, both compiled for this
 * machine in a JIT, scored by libnnrt's evaluator (as `./model eval` scores them) on the
 * training data the network's train block names: `nnc: int8: accuracy 85.49% (float 85.53%)
 * on train-images-idx3-ubyte.gz`. Without those data it says why and goes on. */
static void report_quantization(const IrNetwork *n, const nnc_train_settings *train, const void *params,
                                const CgInputScale *scale, CgQuantize q) {
  const char *scheme = cg_quant_name(q);
  nnrt_dataset *d = NULL;
  nnrt_error err;
  if (!train->data.path) {
    fprintf(stderr, "nnc: %s: accuracy not measured: network '%s' names no training data\n", scheme, n->name);
    return;
  }
  if (nnrt_dataset_load(&train->data, n->n_inputs, n->n_outputs, n->real_bytes, 0, &d, &err) != NNRT_OK) {
    fprintf(stderr, "nnc: %s: accuracy not measured: %s\n", scheme, err.msg);
    return;
  }
  BackendOptions ho = {.opt_level = 2};
  Target host = {0};
  LLVMOrcLLJITRef jit = NULL;
  if (make_target(&ho, &host) && !LLVMOrcCreateLLJIT(&jit, NULL)) {
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    unsigned isa = quant_isa(&host);
    const nnc_model *mf = jit_add(jit, tsc, cg_build_module(n, ctx, train, 0, host.vec, params, scale, "nnc_float",
                                                            CG_QUANT_NONE, isa), &host, n, "nnc_float_model");
    const nnc_model *mq = jit_add(jit, tsc, cg_build_module(n, ctx, train, 0, host.vec, params, scale, "nnc_quant",
                                                            q, isa), &host, n, "nnc_quant_model");
    char sf[1100], sq[1100];
    if (mf && mq && score(mf, params, d, sf, sizeof sf) && score(mq, params, d, sq, sizeof sq))
      fprintf(stderr, "nnc: %s: %s (float %s) on %s\n", scheme, sq, strchr(sf, ' ') + 1, base_name(train->data.path));
    else if (mf && mq)
      fprintf(stderr, "nnc: %s: accuracy not measured: %s\n", scheme, sf);
    LLVMOrcDisposeLLJIT(jit);
    LLVMOrcDisposeThreadSafeContext(tsc);
  }
  free_target(&host);
  nnrt_dataset_destroy(d);
}

/* A log_softmax output is computed, not trained (nnc has no loss for log-probabilities):
 * code for it is generated only with weights to compile in. */
static int refuse_training_log_softmax(const IrNetwork *n) {
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    if (g->act != ACT_LOG_SOFTMAX) continue;
    fprintf(stderr, "%s:%d:%d: error: output '%s' is log_softmax, which nnc computes but does not train: compile "
            "the network with its weights (--weights FILE), or train it with softmax and loss cross_entropy\n",
            n->source_path, g->loc.line, g->loc.col, g->name);
    return 1;
  }
  return 0;
}

/* Quantization rounds trained weights: without them (a training executable) there are none. */
static int refuse_quantize_without_weights(const BackendOptions *o) {
  if (!o->quantize || o->weights || o->params) return 0;
  fprintf(stderr, "nnc: error: --quantize %s compiles trained weights: give them with --weights FILE (code that "
          "trains stays in float)\n", cg_quant_name((CgQuantize)o->quantize));
  return 1;
}

/* A weight the scheme would store as infinity (bf16: beyond its largest finite value, about
 * 3.39e38) is refused, not compiled into outputs of infinities and NaNs. */
static int refuse_unquantizable(const IrNetwork *n, const BackendOptions *o, const void *params) {
  int64_t i = o->quantize ? cg_quant_unrepresentable(n, params, (CgQuantize)o->quantize) : -1;
  if (i < 0) return 0;
  double w = n->real_bytes == 8 ? ((const double *)params)[i] : ((const float *)params)[i];
  fprintf(stderr, "nnc: error: %s: parameter %lld is %g, beyond the largest %s (%g): --quantize %s would make it "
          "infinite\n", o->weights ? o->weights : n->source_path, (long long)i, w, cg_quant_name((CgQuantize)o->quantize),
          0x1.fep127, cg_quant_name((CgQuantize)o->quantize));
  return 1;
}

/* precision bf16 multiplies in the batch kernels, with AMX-BF16 or AVX512-BF16: a network
 * without them, or a target with neither, is refused where the precision is asked for. */
static int refuse_bf16_products(const IrNetwork *n, const BackendOptions *o, const Target *t) {
  if (!n->bf16_products || o->quantize) return 0;
  const char *at = n->source_path;
  if (!cg_batch_eligible(n)) {
    fprintf(stderr, "%s:%d:%d: error: precision bf16 takes bf16 products in nnc's mini-batch kernels, which network "
            "'%s' does not get: they need dense sets of learned weights, one of at least 256 weights between "
            "groups of 8 or more; use precision f32\n", at, n->bf16_loc.line, n->bf16_loc.col, n->name);
    return 1;
  }
  if (cg_bf16_products(n, t->vec, quant_isa(t)) != CG_BF16_NONE) return 0;
  if (t->vec.bytes == 64 && (nnc_target_has_feature(t->tm, "avx512bf16") || nnc_target_has_feature(t->tm, "amx-bf16"))) {
    fprintf(stderr, "%s:%d:%d: error: precision bf16 rounds its operands with vcvtneps2bf16 on zmm registers, which "
            "needs AVX512-BF16, AVX512VL and EVEX512 (beside AMX-BF16 too), and the target CPU '%s' with features '%s' "
            "lacks one of them: add it to --features, or use precision f32\n", at, n->bf16_loc.line, n->bf16_loc.col,
            t->cpu, t->said);
    return 1;
  }
  fprintf(stderr, "%s:%d:%d: error: precision bf16 needs a CPU with AMX-BF16 or AVX512-BF16, and the target CPU "
          "'%s' has neither: compile it on such a CPU, or name one with --cpu (sapphirerapids, cooperlake, "
          "znver4), or use precision f32\n", at, n->bf16_loc.line, n->bf16_loc.col, t->cpu);
  return 1;
}

/* An executable for another architecture than this machine's: linked by $CC against
 * libnnrt.a, which are this machine's unless CC and NNC_RUNTIME_DIR name the target's.
 * Without CC it is refused before anything is compiled (exit 2): the host's linker rejected
 * the object with a screenful of "Relocations in generic ELF" lines. */
static int refuse_foreign_executable(const BackendOptions *o, const Target *t) {
  if (o->kind != OUT_EXECUTABLE || !o->triple || (getenv("CC") && *getenv("CC"))) return 0;
  char *host = LLVMGetDefaultTargetTriple();
  size_t arch = strcspn(host, "-");
  int same = strncmp(host, t->triple, arch) == 0 && t->triple[arch] == '-';
  LLVMDisposeMessage(host);
  if (same) return 0;
  fprintf(stderr,
          "nnc: error: an executable for target '%s' cannot be linked with this machine's C compiler and "
          "runtime: write an object and its header with -c (docs/embedded.md), or set CC to the target's C "
          "compiler and NNC_RUNTIME_DIR to a libnnrt.a built for it\n",
          t->triple);
  return 1;
}

int backend_run(const IrNetwork *n, const BackendOptions *o) {
  if (refuse_quantize_without_weights(o)) return 2;
  if (!o->weights && !o->params && refuse_training_log_softmax(n)) return 1;
  Target t = {0};
  if (!make_target(o, &t) || refuse_foreign_executable(o, &t)) {
    free_target(&t);
    return 2;
  }
  if (refuse_bf16_products(n, o, &t)) {
    free_target(&t);
    return 1;
  }
  char name[512];
  const char *out = default_output(n, o, name, sizeof name);
  ResolvedPaths *paths = xmalloc(sizeof *paths);
  nnc_train_settings train = resolved_settings(n, paths);
  int refused = o->output ? 0 : out_check(out, o->header, n->source_path, o->weights);
  if (!refused) refused = refuse_data_outputs(&train, out, o->header);
  Trained tw = {NULL, NULL};
  if (refused || (o->weights && !load_weights(n, o->weights, &tw))) {
    free_trained(&tw);
    free(paths);
    free_target(&t);
    return refused ? refused : 1;
  }
  const void *params = tw.params ? tw.params : o->params;
  if (params && refuse_unquantizable(n, o, params)) {
    free_trained(&tw);
    free(paths);
    free_target(&t);
    return 1;
  }
  CgInputScale scale = {tw.scaler ? tw.scaler->mode : 0, tw.scaler ? tw.scaler->offset : NULL,
                        tw.scaler ? tw.scaler->mul : NULL};
  int scaled = tw.scaler != NULL;
  if (!tw.params && o->params && o->scale_mode != NNC_SCALE_NONE) /* an imported model's own scaling */
    scale = (CgInputScale){o->scale_mode, o->scale_offset, o->scale_mul}, scaled = 1;
  LLVMContextRef ctx = LLVMContextCreate();
  const char *prefix = o->prefix ? o->prefix : n->name;
  LLVMModuleRef m = cg_build_module(n, ctx, &train, o->kind == OUT_EXECUTABLE, t.vec, params,
                                    scaled ? &scale : NULL, prefix, (CgQuantize)o->quantize,
                                    quant_isa(&t));
  LLVMSetTarget(m, t.triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(t.tm);
  LLVMSetModuleDataLayout(m, layout);
  LLVMDisposeTargetData(layout);
  set_target_attributes(m, ctx, &t);
  set_own_sections(m, &t);
  int status = 3;
  if (verify(m) && (o->opt_level == 0 || optimise(m, &t, o->opt_level, cg_is_small_network(n))) && verify(m))
    status = emit_module(&t, m, o, out) ? 0 : 1;
  if (status == 0 && o->quantize) report_quantization(n, &train, params, scaled ? &scale : NULL, (CgQuantize)o->quantize);
  if (status == 0 && o->header && !emit_header(n, prefix, o->header, t.vec.bytes, params != NULL, o->quantize,
                                             cg_x86_requirements(n, t.vec, (CgQuantize)o->quantize, quant_isa(&t))))
    status = 1;
  LLVMDisposeModule(m);
  LLVMContextDispose(ctx);
  free(paths);
  free_trained(&tw);
  free_target(&t);
  return status;
}
