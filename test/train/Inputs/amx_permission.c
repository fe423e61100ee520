/* amx_permission.c — linked beside a test program that calls an object using AMX tiles but
 * does not ask for them itself (the shared forward and training scratch checks): asks Linux
 * for the tile state before main, through test/quantize's allow_amx(), as the generated
 * header's NAME_USES_AMX says the caller must (libnnrt's nnrt_cpu_check does it for nnc's
 * executables). */
#include "../../quantize/Inputs/allow_amx.h"

__attribute__((constructor)) static void ask_for_tiles(void) { allow_amx(); }
