/* ast.c — constructors of the syntax tree and the parse entry point.
 * Consumes: grammar actions of parser.y. Produces: arena-allocated AST nodes, linked in
 * source order. */
#include "ast.h"

#include <string.h>

#include "parser.h"
#define YY_DECL int yylex(YYSTYPE *yylval_param, YYLTYPE *yylloc_param, ParseCtx *ctx, void *yyscanner)
#include "lexer.h"

static void *ast_new(ParseCtx *p, size_t size) { return arena_alloc(p->arena, size); }

AstValue *ast_value_int(ParseCtx *p, SrcLoc loc, long long v) {
  AstValue *x = ast_new(p, sizeof *x);
  x->kind = VAL_INT;
  x->loc = loc;
  x->lo = v;
  x->num = (double)v;
  return x;
}

AstValue *ast_value_real(ParseCtx *p, SrcLoc loc, double v) {
  AstValue *x = ast_new(p, sizeof *x);
  x->kind = VAL_REAL;
  x->loc = loc;
  x->num = v;
  return x;
}

AstValue *ast_value_negate(AstValue *v, SrcLoc loc) {
  v->num = -v->num;
  v->lo = -v->lo;
  v->loc = loc;
  return v;
}

AstValue *ast_value_text(ParseCtx *p, AstValueKind kind, SrcLoc loc, const char *text) {
  AstValue *x = ast_new(p, sizeof *x);
  x->kind = kind;
  x->loc = loc;
  x->text = text;
  return x;
}

AstValue *ast_value_range(ParseCtx *p, SrcLoc loc, AstValue *lo, AstValue *hi) {
  AstValue *x = ast_new(p, sizeof *x);
  x->kind = VAL_RANGE;
  x->loc = loc;
  x->lo = lo->lo;
  x->hi = hi->lo;
  return x;
}

/* `1/255` is kept as its quotient; a zero denominator is reported here. */
AstValue *ast_value_ratio(ParseCtx *p, SrcLoc loc, AstValue *num, AstValue *den) {
  AstValue *x = ast_new(p, sizeof *x);
  x->kind = VAL_RATIO;
  x->loc = loc;
  if (den->num == 0) {
    diag_error(p->diag, den->loc, "division by zero");
    x->num = 0;
  } else {
    x->num = num->num / den->num;
  }
  return x;
}

AstValue *ast_value_call(ParseCtx *p, SrcLoc loc, const char *name, AstValue *args) {
  AstValue *x = ast_value_text(p, VAL_CALL, loc, name);
  x->args = args;
  return x;
}

AstValue *ast_value_list(ParseCtx *p, SrcLoc loc, AstValue *elems) {
  AstValue *x = ast_new(p, sizeof *x);
  x->kind = VAL_LIST;
  x->loc = loc;
  x->args = elems;
  return x;
}

/* The list appenders run in constant time: the head of a list keeps its last node (`last`,
 * NULL while the list has one node), so a sum or a setting of 100,000 items stays linear. */
AstValue *ast_value_append(AstValue *list, AstValue *v) {
  if (!list) return v;
  (list->last ? list->last : list)->next = v;
  list->last = v->last ? v->last : v;
  return list;
}

AstTerm *ast_term(ParseCtx *p, SrcLoc loc, AstValue *weight, const char *ref, SrcLoc ref_loc,
                  AstValue *index) {
  AstTerm *t = ast_new(p, sizeof *t);
  t->loc = loc;
  t->has_weight = weight != NULL;
  t->weight = weight && weight->kind != VAL_LIST ? weight->num : 1.0;
  t->lit = weight && weight->kind == VAL_LIST ? weight : NULL;
  t->ref = ref;
  t->ref_loc = ref_loc;
  t->has_index = index != NULL;
  t->index = index ? index->lo : 0;
  return t;
}

AstTerm *ast_term_fixed(AstTerm *t, SrcLoc loc) {
  t->fixed = 1;
  t->loc = loc;
  return t;
}

/* `- w*x` and `- x`: the weight is negated; a missing weight becomes an initial -1. */
AstTerm *ast_term_negate(AstTerm *t) {
  t->weight = -t->weight;
  t->has_weight = 1;
  return t;
}

AstTerm *ast_term_append(AstTerm *list, AstTerm *t) {
  (list->last ? list->last : list)->next = t;
  list->last = t->last ? t->last : t;
  return list;
}

AstDecl *ast_decl(ParseCtx *p, AstDeclKind kind, SrcLoc loc, const char *name, SrcLoc name_loc,
                  AstValue *size, AstValue *act) {
  AstDecl *d = ast_new(p, sizeof *d);
  d->kind = kind;
  d->loc = loc;
  d->name = name;
  d->name_loc = name_loc;
  d->has_size = size != NULL;
  d->size = size ? size->lo : 1;
  d->size_loc = size ? size->loc : name_loc;
  d->act = act;
  return d;
}

AstDecl *ast_decl_sum(AstDecl *d, AstTerm *sum) {
  d->has_sum = 1;
  d->sum = sum;
  return d;
}

AstDecl *ast_decl_options(AstDecl *d, AstSetting *options) {
  d->options = options;
  return d;
}

/* `NAME[i] <- sum`, kept in the declaration list as a DECL_SUM with the index as its size. */
AstDecl *ast_neuron_sum(ParseCtx *p, SrcLoc loc, const char *name, AstValue *index) {
  AstDecl *d = ast_decl(p, DECL_SUM, loc, name, loc, index, NULL);
  return d;
}

AstSetting *ast_setting(ParseCtx *p, SrcLoc loc, const char *key, AstValue *values) {
  AstSetting *s = ast_new(p, sizeof *s);
  s->key = key;
  s->loc = loc;
  s->values = values;
  return s;
}

AstSetting *ast_setting_append(AstSetting *list, AstSetting *s) {
  if (!list) return s;
  (list->last ? list->last : list)->next = s;
  list->last = s->last ? s->last : s;
  return list;
}

AstNetwork *ast_network(ParseCtx *p, SrcLoc loc, const char *name) {
  AstNetwork *n = ast_new(p, sizeof *n);
  n->loc = loc;
  n->name = name;
  return n;
}

AstNetwork *ast_network_add_decl(AstNetwork *n, AstDecl *d) {
  if (n->last_decl)
    n->last_decl->next = d;
  else
    n->decls = d;
  n->last_decl = d;
  return n;
}

/* A second train block is an error; its settings are still checked with the first's. */
AstNetwork *ast_network_add_train(ParseCtx *p, AstNetwork *n, SrcLoc loc, AstSetting *settings) {
  if (n->has_train) {
    diag_error(p->diag, loc, "network '%s' has more than one train block", n->name);
    diag_note(p->diag, n->train_loc, "the first train block is here");
  } else {
    n->has_train = 1;
    n->train_loc = loc;
  }
  if (settings) n->settings = ast_setting_append(n->settings, settings);
  return n;
}

void ast_file_add_network(ParseCtx *p, AstNetwork *n) {
  if (p->file->last_network)
    p->file->last_network->next = n;
  else
    p->file->networks = n;
  p->file->last_network = n;
}

AstFile *ast_parse(const Source *src, Arena *arena, Diag *diag) {
  ParseCtx ctx = {0};
  ctx.arena = arena;
  ctx.diag = diag;
  ctx.file = arena_alloc(arena, sizeof(AstFile));
  yyscan_t scanner;
  if (yylex_init_extra(&ctx, &scanner)) diag_internal(__FILE__, __LINE__, "yylex_init failed");
  YY_BUFFER_STATE buf = yy_scan_bytes(src->text, (int)src->len, scanner);
  yyparse(&ctx, scanner);
  yy_delete_buffer(buf, scanner);
  yylex_destroy(scanner);
  if (!ctx.file->networks && diag->errors == 0)
    diag_error(diag, (SrcLoc){1, 1}, "no network in this file (expected 'network NAME { ... }')");
  return ctx.file;
}

const char *ast_decl_kind_name(AstDeclKind k) {
  static const char *const names[] = {"input", "bias", "layer", "neuron", "output", "sum"};
  return names[k];
}
