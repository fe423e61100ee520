/* Throughput of the 512-bit dot-product instructions of the quantized kernels against the fp32
   FMA: 12 independent accumulator chains of vpdpbusd (64 u8×s8 multiply-adds), vdpbf16ps (32
   bf16 multiply-adds) and vfmadd231ps (16), as tools/peak.c times the FMA; the three alternate
   over 3 rounds and each keeps its fastest, so that a busy moment of the machine hits all.
   usage: dot_peak   (one thread; prints instructions and multiply-adds per second of each, and
   each's multiply-adds as a multiple of the FMA's; an instruction the CPU lacks is skipped) */
#include <stdio.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
#define ITERS 50000000L
#define X12(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)
#define CLOBBER "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11"
#define FMA(i) "vfmadd231ps %%zmm13,%%zmm14,%%zmm" #i "\n"
#define DPBUSD(i) "vpdpbusd %%zmm13,%%zmm14,%%zmm" #i "\n"
#define DPBF16(i) "vdpbf16ps %%zmm13,%%zmm14,%%zmm" #i "\n"
#define TIMED(OP) do { double t0 = now(); \
    for (long i = 0; i < ITERS; i++) __asm__ volatile(X12(OP) ::: CLOBBER); \
    return 12.0 * ITERS / (now() - t0); } while (0)
static double fma_rate(void) { TIMED(FMA); }
static double dpbusd_rate(void) { TIMED(DPBUSD); }
static double dpbf16_rate(void) { TIMED(DPBF16); }
static double fastest(double a, double b) { return a > b ? a : b; }
int main(void) {
  int vnni = __builtin_cpu_supports("avx512vnni"), bf16 = __builtin_cpu_supports("avx512bf16");
  double fma = 0, busd = 0, bf = 0;
  for (int round = 0; round < 3; round++) {
    fma = fastest(fma, fma_rate());
    if (vnni) busd = fastest(busd, dpbusd_rate());
    if (bf16) bf = fastest(bf, dpbf16_rate());
  }
  printf("vfmadd231ps zmm: %.2f G/s, %.1f G multiply-adds/s\n", fma / 1e9, 16 * fma / 1e9);
  if (vnni) {
    double r = busd;
    printf("vpdpbusd zmm:    %.2f G/s, %.1f G multiply-adds/s, %.2fx the FMA's\n", r / 1e9, 64 * r / 1e9, 64 * r / (16 * fma));
  } else
    printf("vpdpbusd zmm:    skipped, the CPU has no avx512vnni\n");
  if (bf16) {
    double r = bf;
    printf("vdpbf16ps zmm:   %.2f G/s, %.1f G multiply-adds/s, %.2fx the FMA's\n", r / 1e9, 32 * r / 1e9, 32 * r / (16 * fma));
  } else
    printf("vdpbf16ps zmm:   skipped, the CPU has no avx512bf16\n");
  return 0;
}
