/* diag.c — prints diagnostics in GCC's format with the source line and a caret.
 * Consumes: a Source and located messages. Produces: text on the diagnostic stream and
 * counts that the driver turns into the exit status. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DIAG_LINE_WIDTH 160

void diag_init(Diag *d, const Source *src, FILE *out) {
  memset(d, 0, sizeof *d);
  d->src = src;
  d->out = out;
}

/* The start of line `line`: found from the last line looked up when it is not before it, so
 * diagnostics in source order cost linear time in all however many there are. */
static const char *line_start(Diag *d, int line) {
  const char *p = d->src->text, *end = d->src->text + d->src->len;
  int at = 1;
  if (d->cached_line > 0 && d->cached_line <= line) p = d->cached_at, at = d->cached_line;
  for (; at < line && p < end; p++)
    if (*p == '\n') at++;
  d->cached_line = at;
  d->cached_at = p;
  return p;
}

/* Prints the source line of loc (tabs kept so the caret lines up, other control bytes such
 * as NUL shown as '?') and a caret under col; of a long line, only DIAG_LINE_WIDTH bytes
 * around col. */
static void print_source_line(Diag *d, SrcLoc loc) {
  const char *p = line_start(d, loc.line), *end = d->src->text + d->src->len;
  const char *eol = p;
  while (eol < end && *eol != '\n') eol++;
  int width = (int)(eol - p), col = loc.col;
  if (width > DIAG_LINE_WIDTH) {
    int from = col > DIAG_LINE_WIDTH / 2 ? col - DIAG_LINE_WIDTH / 2 : 0;
    if (from > width - DIAG_LINE_WIDTH) from = width - DIAG_LINE_WIDTH;
    p += from, col -= from, width = DIAG_LINE_WIDTH;
  }
  for (int i = 0; i < width; i++) {
    unsigned char c = (unsigned char)p[i];
    fputc(c < 0x20 && c != '\t' ? '?' : c, d->out);
  }
  fputc('\n', d->out);
  for (int i = 1; i < col && i <= width; i++) fputc(p[i - 1] == '\t' ? '\t' : ' ', d->out);
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
  if (d->warnings > DIAG_MAX_WARNINGS) {
    d->suppressed_warnings++;
    return;
  }
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
  if (d->suppressed_warnings)
    fprintf(d->out, "%s: note: %d more warnings not shown\n", d->src->path, d->suppressed_warnings);
  if (d->suppressed)
    fprintf(d->out, "%s: note: %d more errors not shown\n", d->src->path, d->suppressed);
  if (d->errors)
    fprintf(d->out, "%d error%s generated.\n", d->errors, d->errors == 1 ? "" : "s");
}

void diag_internal(const char *file, int line, const char *what) {
  fprintf(stderr, "nnc: internal error at %s:%d: %s\n", file, line, what);
  abort();
}
