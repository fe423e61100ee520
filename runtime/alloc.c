/* runtime/alloc.c — the one allocator hook of libnnrt, and error messages.
 *
 * Consumes: nnrt_set_allocator's hook (or the C library's realloc/free).
 * Produces: every allocation of the library (zeroed, overflow-checked, optionally 64-byte
 * aligned for model scratch) and the filled nnrt_error of a failing call.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *default_realloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

static nnrt_realloc_fn hook = default_realloc;
static void *hook_ud;

void nnrt_set_allocator(nnrt_realloc_fn fn, void *ud) {
  hook = fn ? fn : default_realloc;
  hook_ud = fn ? ud : NULL;
}

void *nnrt__alloc(size_t size) {
  void *p = hook(hook_ud, NULL, size ? size : 1);
  if (p)
    memset(p, 0, size ? size : 1);
  return p;
}

void *nnrt__realloc(void *p, size_t size) {
  return hook(hook_ud, p, size ? size : 1);
}

void nnrt__free(void *p) {
  if (p)
    hook(hook_ud, p, 0);
}

/* n · elem in *bytes unless n is negative or the product is absurdly large. */
static int array_bytes(int64_t n, size_t elem, size_t *bytes) {
  if (n < 0 || (elem && (uint64_t)n > SIZE_MAX / 2 / elem))
    return 0;
  *bytes = (size_t)n * elem;
  return 1;
}

void *nnrt__alloc_array(int64_t n, size_t elem) {
  size_t bytes;
  return array_bytes(n, elem, &bytes) ? nnrt__alloc(bytes) : NULL;
}

char *nnrt__strdup(const char *s) {
  size_t len = strlen(s) + 1;
  char *d = nnrt__alloc(len);
  if (d)
    memcpy(d, s, len);
  return d;
}

/* The original pointer is kept just below the aligned block. */
void *nnrt__alloc_aligned(size_t size) {
  if (size > SIZE_MAX - 128)
    return NULL;
  char *raw = nnrt__alloc(size + 64 + sizeof(void *));
  if (!raw)
    return NULL;
  uintptr_t a = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
  ((void **)a)[-1] = raw;
  return (void *)a;
}

void *nnrt__alloc_array_aligned(int64_t n, size_t elem) {
  size_t bytes;
  return array_bytes(n, elem, &bytes) ? nnrt__alloc_aligned(bytes) : NULL;
}

void nnrt__free_aligned(void *p) {
  if (p)
    nnrt__free(((void **)p)[-1]);
}

int nnrt__fail(nnrt_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

int nnrt__oom(nnrt_error *err) {
  return nnrt__fail(err, NNRT_ENOMEM, "out of memory");
}
