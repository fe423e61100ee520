/* diag.h — source locations and collected diagnostics.
 * Every token, AST node and IR node carries a SrcLoc. Errors are counted and printed as
 * `file:line:col: error: message`, the source line and a caret; compilation carries on
 * and stops printing after DIAG_MAX_ERRORS errors (DIAG_MAX_WARNINGS warnings). Internal
 * bugs go through diag_internal (never returns). */
#ifndef NNC_DIAG_H
#define NNC_DIAG_H

#include <stdio.h>

typedef struct SrcLoc {
  int line, col; /* 1-based; 0 means "no location" */
} SrcLoc;

typedef struct Source {
  const char *path; /* as given on the command line */
  const char *text; /* whole file, NUL-terminated */
  size_t len;
} Source;

#define DIAG_MAX_ERRORS 20
#define DIAG_MAX_WARNINGS 100

typedef struct Diag {
  const Source *src;
  FILE *out;
  int errors, warnings;
  int suppressed; /* errors not printed beyond the cap */
  int suppressed_warnings;
  int cached_line;        /* the last line whose start was looked up, 0: none */
  const char *cached_at;  /* its start */
} Diag;

void diag_init(Diag *d, const Source *src, FILE *out);
void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 1 once errors are past the cap: callers may skip costly work (hints) for unseen messages. */
int diag_muted(const Diag *d);
void diag_finish(Diag *d); /* prints the "N errors" summary and the suppressed count */
_Noreturn void diag_internal(const char *file, int line, const char *what);

#define NNC_ASSERT(c) ((c) ? (void)0 : diag_internal(__FILE__, __LINE__, #c))

#endif
