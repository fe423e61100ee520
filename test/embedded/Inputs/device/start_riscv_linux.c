/* start_riscv_linux.c — device.h on RISC-V Linux without a C library (the riscv64 program
 * under qemu-user): _start calls main, write(2) and exit(2) are system calls (ecall). */
#include "device.h"

int main(void);

static long riscv_syscall(long number, long a, long b, long c) {
  register long a0 __asm__("a0") = a;
  register long a1 __asm__("a1") = b;
  register long a2 __asm__("a2") = c;
  register long a7 __asm__("a7") = number;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

enum { SYS_WRITE = 64, SYS_EXIT = 93 };

void dev_write(const char *s) {
  long n = 0;
  while (s[n]) n++;
  while (n > 0) {
    long w = riscv_syscall(SYS_WRITE, 1, (long)s, n);
    if (w <= 0) dev_exit(1);
    s += w;
    n -= w;
  }
}

_Noreturn void dev_exit(int status) {
  for (;;) riscv_syscall(SYS_EXIT, status, 0, 0);
}

void _start(void) { dev_exit(main()); }
