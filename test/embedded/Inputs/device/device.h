/* device.h — what the test programs need of their platform: a line of text out, an exit.
 * startup_m4.c provides them on a bare Cortex-M4 (semihosting), linux_io.c on Linux. */
#ifndef DEVICE_H
#define DEVICE_H
void dev_write(const char *s);
_Noreturn void dev_exit(int status);
#endif
