/* allow_amx(): asks Linux for the AMX tile state, which a process must request before its
   first tile instruction (arch_prctl ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) and which a
   program linking an nnc object compiled for a CPU with AMX (--quantize int8 or bf16) needs;
   nothing elsewhere, and harmless where the CPU has no AMX (the call then fails). */
#ifndef ALLOW_AMX_H
#define ALLOW_AMX_H
#if defined(__linux__) && defined(__x86_64__)
long syscall(long number, ...);
static void allow_amx(void) { syscall(158 /* SYS_arch_prctl */, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */); }
#else
static void allow_amx(void) {}
#endif

/* First thing in main of a program compiled with -DFEATURE=name (and STR, a stringizing
 * macro, defined): prints "skipped: ..." and ends the program when the host lacks it. */
#ifdef FEATURE
#define SKIP_UNLESS_HOST_HAS_FEATURE()                                                            \
  do {                                                                                            \
    if (!__builtin_cpu_supports(STR(FEATURE))) {                                                  \
      printf("skipped: the host has no " STR(FEATURE) "\n");                                     \
      return 0;                                                                                   \
    }                                                                                             \
  } while (0)
#else
#define SKIP_UNLESS_HOST_HAS_FEATURE() do {} while (0)
#endif
#endif
