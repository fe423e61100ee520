/* guarded_scratch.h — for test programs compiled with -DNET=name -DUP=NAME against NAME.h:
 * includes that header, names its real type `real`, and gives scratch of a given size
 * followed by a guard region, all filled with PATTERN, and the check that a region still
 * holds it (nothing was written there). Shared by forward_scratch.c and test/train's
 * train_scratch.c. */
#ifndef GUARDED_SCRATCH_H
#define GUARDED_SCRATCH_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)
#include STR(NET.h)

typedef CAT(NET, _real) real;
enum { PATTERN = 0xA5 };

/* bytes of scratch, 64-byte aligned, then guard bytes, all PATTERN. */
static unsigned char *guarded_scratch(int64_t bytes, size_t guard) {
  void *p = NULL;
  if (posix_memalign(&p, 64, (size_t)bytes + guard) != 0) exit(2);
  memset(p, PATTERN, (size_t)bytes + guard);
  return p;
}

static int untouched(const unsigned char *p, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (p[i] != PATTERN) return 0;
  return 1;
}
#endif
