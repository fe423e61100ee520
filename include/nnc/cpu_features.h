/* nnc/cpu_features.h — the x86-64 instruction-set extensions that code nnc generates may use,
 * one bit each in nnc_model.x86_features.
 *
 * The compiler sets the bit of every extension its target CPU and --features enable (LLVM may
 * then use its instructions anywhere); the runtime (nnrt_cpu_check in nnc/nnrt.h) refuses a
 * model whose code needs one the running CPU or its operating system lacks, which would
 * otherwise end the process at the first illegal instruction. Models for other architectures
 * carry 0.
 *
 * X(bit, LLVM's name (as --features spells it), cpuid leaf, subleaf, register (0 eax, 1 ebx,
 *   2 ecx, 3 edx), bit in it, the register state the OS must save: an NNC_X86_STATE_ value)
 * Bits are part of the ABI: new extensions take new bits; none is reused.
 */
#ifndef NNC_CPU_FEATURES_H
#define NNC_CPU_FEATURES_H

/* XCR0 bits the operating system sets when it saves a register file across context switches. */
#define NNC_X86_STATE_NONE 0x0u
#define NNC_X86_STATE_YMM 0x6u     /* SSE and AVX halves */
#define NNC_X86_STATE_ZMM 0xe6u    /* and the opmask, upper zmm halves and zmm16–31 */
#define NNC_X86_STATE_TILES 0x60000u /* AMX tile configuration and data (Linux: on request) */

#define NNC_X86_FEATURES(X)                                       \
  X(0, "sse3", 1, 0, 2, 0, NNC_X86_STATE_NONE)                    \
  X(1, "ssse3", 1, 0, 2, 9, NNC_X86_STATE_NONE)                   \
  X(2, "sse4.1", 1, 0, 2, 19, NNC_X86_STATE_NONE)                 \
  X(3, "sse4.2", 1, 0, 2, 20, NNC_X86_STATE_NONE)                 \
  X(4, "popcnt", 1, 0, 2, 23, NNC_X86_STATE_NONE)                 \
  X(5, "movbe", 1, 0, 2, 22, NNC_X86_STATE_NONE)                  \
  X(6, "lzcnt", 0x80000001, 0, 2, 5, NNC_X86_STATE_NONE)          \
  X(7, "bmi", 7, 0, 1, 3, NNC_X86_STATE_NONE)                     \
  X(8, "bmi2", 7, 0, 1, 8, NNC_X86_STATE_NONE)                    \
  X(9, "avx", 1, 0, 2, 28, NNC_X86_STATE_YMM)                     \
  X(10, "fma", 1, 0, 2, 12, NNC_X86_STATE_YMM)                    \
  X(11, "f16c", 1, 0, 2, 29, NNC_X86_STATE_YMM)                   \
  X(12, "avx2", 7, 0, 1, 5, NNC_X86_STATE_YMM)                    \
  X(13, "avxvnni", 7, 1, 0, 4, NNC_X86_STATE_YMM)                 \
  X(14, "vaes", 7, 0, 2, 9, NNC_X86_STATE_YMM)                    \
  X(15, "vpclmulqdq", 7, 0, 2, 10, NNC_X86_STATE_YMM)             \
  X(16, "gfni", 7, 0, 2, 8, NNC_X86_STATE_NONE)                   \
  X(17, "avx512f", 7, 0, 1, 16, NNC_X86_STATE_ZMM)                \
  X(18, "avx512dq", 7, 0, 1, 17, NNC_X86_STATE_ZMM)               \
  X(19, "avx512ifma", 7, 0, 1, 21, NNC_X86_STATE_ZMM)             \
  X(20, "avx512cd", 7, 0, 1, 28, NNC_X86_STATE_ZMM)               \
  X(21, "avx512bw", 7, 0, 1, 30, NNC_X86_STATE_ZMM)               \
  X(22, "avx512vl", 7, 0, 1, 31, NNC_X86_STATE_ZMM)               \
  X(23, "avx512vbmi", 7, 0, 2, 1, NNC_X86_STATE_ZMM)              \
  X(24, "avx512vbmi2", 7, 0, 2, 6, NNC_X86_STATE_ZMM)             \
  X(25, "avx512vnni", 7, 0, 2, 11, NNC_X86_STATE_ZMM)             \
  X(26, "avx512bitalg", 7, 0, 2, 12, NNC_X86_STATE_ZMM)           \
  X(27, "avx512vpopcntdq", 7, 0, 2, 14, NNC_X86_STATE_ZMM)        \
  X(28, "avx512bf16", 7, 1, 0, 5, NNC_X86_STATE_ZMM)              \
  X(29, "avx512fp16", 7, 0, 3, 23, NNC_X86_STATE_ZMM)             \
  X(30, "amx-tile", 7, 0, 3, 24, NNC_X86_STATE_TILES)             \
  X(31, "amx-int8", 7, 0, 3, 25, NNC_X86_STATE_TILES)             \
  X(32, "amx-bf16", 7, 0, 3, 22, NNC_X86_STATE_TILES)             \
  X(33, "amx-fp16", 7, 1, 0, 21, NNC_X86_STATE_TILES)             \
  X(34, "amx-complex", 7, 1, 3, 8, NNC_X86_STATE_TILES)           \
  X(35, "avx512vp2intersect", 7, 0, 3, 8, NNC_X86_STATE_ZMM)      \
  X(36, "avxifma", 7, 1, 0, 23, NNC_X86_STATE_YMM)                \
  X(37, "avxvnniint8", 7, 1, 3, 4, NNC_X86_STATE_YMM)             \
  X(38, "avxvnniint16", 7, 1, 3, 10, NNC_X86_STATE_YMM)           \
  X(39, "avxneconvert", 7, 1, 3, 5, NNC_X86_STATE_YMM)            \
  X(40, "sha", 7, 0, 1, 29, NNC_X86_STATE_NONE)                   \
  X(41, "sha512", 7, 1, 0, 0, NNC_X86_STATE_YMM)                  \
  X(42, "sm3", 7, 1, 0, 1, NNC_X86_STATE_NONE)                    \
  X(43, "sm4", 7, 1, 0, 2, NNC_X86_STATE_YMM)

/* amx-tile, -int8, -bf16, -fp16, -complex: code using them must ask Linux for the tile state
 * first. */
#define NNC_X86_AMX (0x1full << 30)

/* LLVM's name of the extension of bit `bit`, or NULL. */
static inline const char *nnc_x86_feature_name(int bit) {
  switch (bit) {
#define NNC_X86_FEATURE_CASE(b, name, leaf, sub, reg, rbit, os) \
  case b:                                                      \
    return name;
    NNC_X86_FEATURES(NNC_X86_FEATURE_CASE)
#undef NNC_X86_FEATURE_CASE
  }
  return 0;
}

#endif
