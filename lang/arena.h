/* arena.h — region allocation for the AST and the IR: many small allocations, freed at once.
 * Out-of-memory goes through one hook (arena_set_oom) so tests can inject it. */
#ifndef NNC_ARENA_H
#define NNC_ARENA_H

#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
  ArenaBlock *head;
  size_t used_bytes;
} Arena;

void *arena_alloc(Arena *a, size_t size);          /* zeroed, 16-byte aligned */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
void arena_free(Arena *a);

/* Every allocation of the compiler goes through these; they never return NULL. */
/* Out of memory: the message `nnc: error: out of memory (WHERE)` and exit status 3, as for
 * every allocation nnc itself or LLVM makes. */
_Noreturn void xoom(const char *where);
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);

#endif
