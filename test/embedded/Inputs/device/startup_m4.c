/* startup_m4.c — the whole environment of the Cortex-M4 test program, with no C library:
 * the vector table, a reset handler that enables the FPU, clears .bss and calls main, and
 * output and exit through Arm semihosting (bkpt 0xAB), which qemu-system-arm -semihosting
 * serves on the host's standard output. */
#include "device.h"

extern unsigned long __bss_start__, __bss_end__, __stack_top;
int main(void);

/* CPACR (0xE000ED88) gives full access to CP10 and CP11, the FPU, before any float
 * instruction; then .bss is zeroed word by word and main's status goes to dev_exit. */
__attribute__((naked, noreturn)) void reset_handler(void) {
  __asm volatile("ldr r0, =0xE000ED88\n"
                 "ldr r1, [r0]\n"
                 "orr r1, r1, #(0xF << 20)\n"
                 "str r1, [r0]\n"
                 "dsb\n"
                 "isb\n"
                 "ldr r0, =__bss_start__\n"
                 "ldr r1, =__bss_end__\n"
                 "movs r2, #0\n"
                 "1: cmp r0, r1\n"
                 "bhs 2f\n"
                 "str r2, [r0], #4\n"
                 "b 1b\n"
                 "2: bl main\n"
                 "bl dev_exit\n");
}

static int semihost(int op, const void *arg) {
  register int r0 __asm("r0") = op;
  register const void *r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void dev_write(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */

/* SYS_EXIT: ADP_Stopped_ApplicationExit is status 0 to qemu, anything else 1. */
_Noreturn void dev_exit(int status) {
  semihost(0x18, (const void *)(unsigned long)(status == 0 ? 0x20026 : 0x20024));
  for (;;) {}
}

static void fault_handler(void) {
  dev_write("fault: the processor took an exception\n");
  dev_exit(1);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top, reset_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, fault_handler};
