/* format.h — text for the test programs without a C library: each function writes at p,
 * NUL-terminates and returns the end, so calls chain. Numbers are printed as a host's
 * %.9g would read them back: d.dddddddde±XX. */
#ifndef FORMAT_H
#define FORMAT_H
#include <stdint.h>

static inline char *append(char *p, const char *s) {
  while (*s) *p++ = *s++;
  *p = 0;
  return p;
}

static inline char *append_int(char *p, long v) {
  char digits[24];
  int n = 0;
  unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
  if (v < 0) *p++ = '-';
  do digits[n++] = (char)('0' + u % 10), u /= 10;
  while (u);
  while (n) *p++ = digits[--n];
  *p = 0;
  return p;
}

/* v with 9 significant digits (at most 16 characters). */
static inline char *append_real(char *p, double v) {
  if (v != v) return append(p, "nan");
  if (v < 0) *p++ = '-', v = -v;
  if (v > 1e300) return append(p, "inf");
  int e = 0;
  if (v != 0) {
    while (v >= 10) v /= 10, e++;
    while (v < 1) v *= 10, e--;
  }
  uint32_t q = (uint32_t)(v * 1e8 + 0.5);
  if (q >= 1000000000u) q /= 10, e++;
  char digits[9];
  for (int i = 8; i >= 0; i--) digits[i] = (char)('0' + q % 10), q /= 10;
  *p++ = digits[0];
  *p++ = '.';
  for (int i = 1; i < 9; i++) *p++ = digits[i];
  *p++ = 'e';
  *p++ = e < 0 ? '-' : '+';
  if (e < 0) e = -e;
  *p++ = (char)('0' + e / 10);
  *p++ = (char)('0' + e % 10);
  *p = 0;
  return p;
}

#endif
