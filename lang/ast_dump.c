/* ast_dump.c — `nnc --emit-ast`: the syntax tree as indented text, one node a line, with
 * line:col locations and no pointers, so tests can match it. */
#include <stdio.h>

#include "ast.h"

static void dump_value(const AstValue *v, FILE *out);

static void dump_value_list(const AstValue *v, const char *sep, FILE *out) {
  for (; v; v = v->next) {
    dump_value(v, out);
    if (v->next) fputs(sep, out);
  }
}

static void dump_value(const AstValue *v, FILE *out) {
  switch (v->kind) {
  case VAL_INT: fprintf(out, "%lld", v->lo); break;
  case VAL_REAL: fprintf(out, "%.17g", v->num); break;
  case VAL_RATIO: fprintf(out, "%.17g", v->num); break;
  case VAL_STRING: fprintf(out, "\"%s\"", v->text); break;
  case VAL_IDENT: fputs(v->text, out); break;
  case VAL_RANGE: fprintf(out, "%lld..%lld", v->lo, v->hi); break;
  case VAL_CALL:
    fprintf(out, "%s(", v->text);
    dump_value_list(v->args, ", ", out);
    fputc(')', out);
    break;
  case VAL_LIST:
    fputc('[', out);
    dump_value_list(v->args, ", ", out);
    fputc(']', out);
    break;
  }
}

static void dump_term(const AstTerm *t, FILE *out) {
  fprintf(out, "    term %d:%d", t->loc.line, t->loc.col);
  if (t->fixed) fputs(" fixed", out);
  if (t->lit) {
    fputs(t->weight < 0 ? " weight -" : " weight ", out);
    dump_value(t->lit, out);
  } else if (t->has_weight) {
    fprintf(out, " weight %.17g", t->weight);
  }
  if (t->ref) {
    fprintf(out, " from %s", t->ref);
    if (t->has_index) fprintf(out, "[%lld]", t->index);
  } else {
    fputs(" bias", out);
  }
  fputc('\n', out);
}

static void dump_decl(const AstDecl *d, FILE *out) {
  if (d->kind == DECL_SUM) {
    fprintf(out, "  sum %s[%lld] %d:%d\n", d->name, d->size, d->loc.line, d->loc.col);
    for (const AstTerm *t = d->sum; t; t = t->next) dump_term(t, out);
    return;
  }
  fprintf(out, "  %s %s %d:%d", ast_decl_kind_name(d->kind), d->name, d->loc.line, d->loc.col);
  if (d->has_size) fprintf(out, " size %lld", d->size);
  if (d->act) {
    fputs(" activation ", out);
    dump_value(d->act, out);
  }
  if (d->kind != DECL_INPUT && d->kind != DECL_BIAS && !d->has_sum) fputs(" from-previous", out);
  fputc('\n', out);
  for (const AstTerm *t = d->sum; t; t = t->next) dump_term(t, out);
}

static void dump_setting(const AstSetting *s, FILE *out) {
  fprintf(out, "    %s %d:%d", s->key, s->loc.line, s->loc.col);
  if (s->values) fputc(' ', out);
  dump_value_list(s->values, " ", out);
  fputc('\n', out);
}

void ast_dump(const AstFile *f, FILE *out) {
  for (const AstNetwork *n = f->networks; n; n = n->next) {
    fprintf(out, "network %s %d:%d\n", n->name, n->loc.line, n->loc.col);
    for (const AstDecl *d = n->decls; d; d = d->next) dump_decl(d, out);
    if (n->has_train) {
      fprintf(out, "  train %d:%d\n", n->train_loc.line, n->train_loc.col);
      for (const AstSetting *s = n->settings; s; s = s->next) dump_setting(s, out);
    }
  }
}
