/* diag.c — prints diagnostics in GCC's format with the source line and a caret.
 * Consumes: a Source and located messages. Produces: text on the diagnostic stream and
 * counts that the driver turns into the exit status. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_init(Diag *d, const Source *src, FILE *out) {
  memset(d, 0, sizeof *d);
  d->src = src;
  d->out = out;
}

/* Prints the source line of loc (tabs kept so the caret lines up) and a caret under col. */
static void print_source_line(Diag *d, SrcLoc loc) {
  const char *p = d->src->text, *end = d->src->text + d->src->len;
  for (int line = 1; line < loc.line && p < end; p++)
    if (*p == '\n') line++;
  const char *eol = p;
  while (eol < end && *eol != '\n') eol++;
  int width = (int)(eol - p);
  fprintf(d->out, "%.*s\n", width, p);
  for (int i = 1; i < loc.col && i <= width; i++) fputc(p[i - 1] == '\t' ? '\t' : ' ', d->out);
  fputs("^\n", d->out);
}

static void vreport(Diag *d, SrcLoc loc, const char *kind, const char *fmt, va_list ap) {
  if (loc.line > 0)
    fprintf(d->out, "%s:%d:%d: %s: ", d->src->path, loc.line, loc.col, kind);
  else
    fprintf(d->out, "%s: %s: ", d->src->path, kind);
  vfprintf(d->out, fmt, ap);
  fputc('\n', d->out);
  if (loc.line > 0 && d->src->text) print_source_line(d, loc);
}

void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) {
  d->errors++;
  if (d->errors > DIAG_MAX_ERRORS) {
    d->suppressed++;
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "error", fmt, ap);
  va_end(ap);
}

void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) {
  d->warnings++;
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "warning", fmt, ap);
  va_end(ap);
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) {
  if (d->errors > DIAG_MAX_ERRORS) return; /* the note of a suppressed error */
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "note", fmt, ap);
  va_end(ap);
}

int diag_muted(const Diag *d) { return d->errors >= DIAG_MAX_ERRORS; }

void diag_finish(Diag *d) {
  if (d->suppressed)
    fprintf(d->out, "%s: note: %d more errors not shown\n", d->src->path, d->suppressed);
  if (d->errors)
    fprintf(d->out, "%d error%s generated.\n", d->errors, d->errors == 1 ? "" : "s");
}

void diag_internal(const char *file, int line, const char *what) {
  fprintf(stderr, "nnc: internal error at %s:%d: %s\n", file, line, what);
  abort();
}
