/* amx_permission.c — linked beside a test program that calls an object using AMX tiles: asks
 * Linux for the tile state before main, as the generated header's NAME_USES_AMX says the
 * caller must (libnnrt's nnrt_cpu_check does it for nnc's executables). */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((constructor)) static void ask_for_tiles(void) {
  syscall(SYS_arch_prctl, 0x1023, 18); /* ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA */
}
