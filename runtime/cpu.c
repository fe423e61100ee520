/* cpu.c — whether this CPU can run a model's code: the instruction-set extensions its code
 * was compiled for (nnc_model.x86_features, the table of nnc/cpu_features.h) against what
 * cpuid and the operating system's saved register state (XCR0) say this one has, and, for
 * code that uses AMX tiles, Linux's permission to use them, asked for once per process.
 * Consumes: a model descriptor. Produces: NNRT_OK, or NNRT_EUSAGE naming what is missing. */
#define _GNU_SOURCE
#include "internal.h"
#include "nnc/cpu_features.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t host_features;      /* the table's bits this CPU and OS offer */
static int tiles_permitted;         /* Linux granted the AMX tile state */
static pthread_once_t probed = PTHREAD_ONCE_INIT, tiles_asked = PTHREAD_ONCE_INIT;

static unsigned saved_state(void) { /* XCR0; 0 when the OS does not enable xgetbv */
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
    return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return lo;
}

static int cpu_has(unsigned leaf, unsigned sub, int reg, int bit) {
  unsigned r[4];
  if (!__get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]))
    return 0;
  return (r[reg] >> bit) & 1;
}

/* arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): Linux 5.16 and later hand a process
 * the tile registers only once it asks; the first tile instruction before that is fatal. */
static void ask_for_tiles(void) { tiles_permitted = syscall(SYS_arch_prctl, 0x1023, 18) == 0; }

static void probe(void) {
  unsigned state = saved_state();
#define PROBE(bit, name, leaf, sub, reg, rbit, os)                                                     \
  if (cpu_has(leaf, sub, reg, rbit) && (state & (os)) == (os)) host_features |= 1ull << (bit);
  NNC_X86_FEATURES(PROBE)
#undef PROBE
}

/* The table's bits this CPU and OS offer; *tiles: whether Linux let this process use AMX,
 * asked only for code that uses it (the permission enlarges every signal frame). */
static uint64_t host_offers(int uses_tiles, int *tiles) {
  pthread_once(&probed, probe);
  if (uses_tiles && (host_features & NNC_X86_AMX))
    pthread_once(&tiles_asked, ask_for_tiles);
  *tiles = tiles_permitted;
  return host_features;
}
#else
static uint64_t host_offers(int uses_tiles, int *tiles) {
  (void)uses_tiles;
  *tiles = 0;
  return 0;
}
#endif

/* "amx-tile, amx-int8" into buf. */
static void name_features(uint64_t bits, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < 64 && len + 1 < size; i++)
    if (bits >> i & 1)
      len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                              nnc_x86_feature_name(i) ? nnc_x86_feature_name(i) : "an unknown extension");
}

int nnrt_cpu_check(const nnc_model *m, nnrt_error *err) {
  int tiles, uses_tiles = (m->x86_features & NNC_X86_AMX) != 0;
  uint64_t have = host_offers(uses_tiles, &tiles), missing = m->x86_features & ~have;
  if (!missing && (tiles || !uses_tiles))
    return NNRT_OK;
  if (!missing)
    return nnrt__fail(err, NNRT_EUSAGE, "model '%s' uses AMX tiles, which Linux refused this process "
                      "(arch_prctl ARCH_REQ_XCOMP_PERM needs Linux 5.16 or later)", m->name);
  char names[512];
  name_features(missing, names, sizeof names);
  return nnrt__fail(err, NNRT_EUSAGE,
                    "model '%s' was compiled for a CPU with %s, which this CPU lacks: its code would stop at an "
                    "illegal instruction; compile it on this machine, or with nnc --cpu naming the oldest CPU it "
                    "must run on", m->name, names);
}
