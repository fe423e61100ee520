/* arena.c — region allocator used by the AST and the IR.
 * Consumes: allocation requests. Produces: zeroed memory that lives until arena_free. */
#include "arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_BYTES (64 * 1024)

struct ArenaBlock {
  ArenaBlock *next;
  size_t size, used;
  _Alignas(16) unsigned char data[];
};

void xoom(const char *where) {
  fprintf(stderr, "nnc: error: out of memory (%s)\n", where);
  exit(3);
}

static void out_of_memory(size_t size) {
  char where[64];
  snprintf(where, sizeof where, "allocating %zu bytes", size);
  xoom(where);
}

void *xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) out_of_memory(size);
  return p;
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) out_of_memory(n * size);
  return p;
}

void *xrealloc(void *p, size_t size) {
  void *q = realloc(p, size ? size : 1);
  if (!q) out_of_memory(size);
  return q;
}

static ArenaBlock *arena_new_block(size_t min_bytes) {
  size_t size = min_bytes > ARENA_BLOCK_BYTES ? min_bytes : ARENA_BLOCK_BYTES;
  ArenaBlock *b = xmalloc(sizeof(ArenaBlock) + size);
  b->next = NULL;
  b->size = size;
  b->used = 0;
  return b;
}

void *arena_alloc(Arena *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (!a->head || a->head->size - a->head->used < size) {
    ArenaBlock *b = arena_new_block(size);
    b->next = a->head;
    a->head = b;
  }
  void *p = a->head->data + a->head->used;
  a->head->used += size;
  a->used_bytes += size;
  memset(p, 0, size);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

void arena_free(Arena *a) {
  ArenaBlock *b = a->head;
  while (b) {
    ArenaBlock *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->used_bytes = 0;
}
