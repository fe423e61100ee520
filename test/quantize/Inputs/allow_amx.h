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
#endif
