/* ast.h — the syntax tree of a .nn file, as the parser builds it.
 * Nodes live in one arena (ParseCtx.arena) and carry their source location. The AST keeps
 * what was written, unresolved: names are strings, activations and settings are names with
 * argument values. compiler/sema.c checks it and builds the network IR; nothing after sema
 * reads the AST. */
#ifndef NNC_AST_H
#define NNC_AST_H

#include <stdio.h>

#include "arena.h"
#include "diag.h"

/* A value in a setting or an activation argument: `0.5`, `-3`, `"f.csv"`, `csv`, `0..3`,
 * `1/255`, `uniform(-0.5, 0.5)`. */
typedef enum AstValueKind {
  VAL_INT,
  VAL_REAL,
  VAL_STRING,
  VAL_IDENT,
  VAL_RANGE, /* lo..hi, integers */
  VAL_RATIO, /* num/den */
  VAL_CALL,  /* ident(args) */
  VAL_LIST,  /* [args]: a literal vector of numbers, or a matrix: a list of vectors */
} AstValueKind;

typedef struct AstValue AstValue;
struct AstValue {
  AstValueKind kind;
  SrcLoc loc;
  double num;        /* VAL_INT, VAL_REAL, VAL_RATIO (already divided) */
  long long lo, hi;  /* VAL_INT (lo), VAL_RANGE */
  const char *text;  /* VAL_STRING contents, VAL_IDENT and VAL_CALL name */
  AstValue *args;    /* VAL_CALL, VAL_LIST */
  AstValue *next;
  AstValue *last;    /* on a list's head: its last node, for appending in O(1) (NULL: itself) */
};

/* One term of an incoming sum: `[fixed] [w *] ref[index]` or `[fixed] w` (a bias term); w is
 * a number or a literal vector or matrix (`[0.1, 0.2]`, `[[1, 2], [3, 4]]`). */
typedef struct AstTerm AstTerm;
struct AstTerm {
  SrcLoc loc;
  int fixed;
  int has_weight;
  double weight;     /* sign applied; with a literal, its sign: 1 or -1 */
  const AstValue *lit; /* a literal vector or matrix (VAL_LIST), or NULL */
  const char *ref;   /* NULL: a bias term (a bare number) */
  SrcLoc ref_loc;
  int has_index;
  long long index;
  AstTerm *next;
  AstTerm *last;     /* on a list's head: its last node (NULL: itself) */
};

/* DECL_SUM is not a declaration but `NAME[i] <- sum`: the incoming sum of neuron i of the
 * group NAME (name, size: the index, sum). */
typedef enum AstDeclKind { DECL_INPUT, DECL_BIAS, DECL_LAYER, DECL_NEURON, DECL_OUTPUT, DECL_SUM } AstDeclKind;

typedef struct AstDecl AstDecl;
struct AstDecl {
  AstDeclKind kind;
  SrcLoc loc;
  const char *name;
  SrcLoc name_loc;
  int has_size;
  long long size;
  SrcLoc size_loc;
  AstValue *act;     /* VAL_IDENT or VAL_CALL; NULL for inputs and biases */
  int has_sum;       /* `<- sum` given; otherwise dense from the previous declaration */
  AstTerm *sum;
  struct AstSetting *options; /* `init he`, `bias_init 0` after the activation, one value each */
  AstDecl *next;
};

/* `key value value ...;` inside `train { }`. */
typedef struct AstSetting AstSetting;
struct AstSetting {
  const char *key;
  SrcLoc loc;
  AstValue *values;
  AstSetting *next;
  AstSetting *last;  /* on a list's head: its last node (NULL: itself) */
};

typedef struct AstNetwork AstNetwork;
struct AstNetwork {
  const char *name;
  SrcLoc loc;
  AstDecl *decls;
  AstDecl *last_decl; /* for appending in O(1) */
  int has_train;
  SrcLoc train_loc;
  AstSetting *settings;
  AstNetwork *next;
};

typedef struct AstFile {
  AstNetwork *networks;
  AstNetwork *last_network; /* for appending in O(1) */
} AstFile;

/* The parser's state, passed to every grammar action and to the lexer. */
typedef struct ParseCtx {
  Arena *arena;
  Diag *diag;
  AstFile *file;
  AstNetwork *current; /* the network whose body is being parsed */
  SrcLoc comment_loc;  /* where the block comment being skipped started */
} ParseCtx;

/* Constructors: each grammar action is one call. */
AstValue *ast_value_int(ParseCtx *p, SrcLoc loc, long long v);
AstValue *ast_value_real(ParseCtx *p, SrcLoc loc, double v);
AstValue *ast_value_negate(AstValue *v, SrcLoc loc);
AstValue *ast_value_text(ParseCtx *p, AstValueKind kind, SrcLoc loc, const char *text);
AstValue *ast_value_range(ParseCtx *p, SrcLoc loc, AstValue *lo, AstValue *hi);
AstValue *ast_value_ratio(ParseCtx *p, SrcLoc loc, AstValue *num, AstValue *den);
AstValue *ast_value_call(ParseCtx *p, SrcLoc loc, const char *name, AstValue *args);
AstValue *ast_value_list(ParseCtx *p, SrcLoc loc, AstValue *elems);
AstValue *ast_value_append(AstValue *list, AstValue *v);

AstTerm *ast_term(ParseCtx *p, SrcLoc loc, AstValue *weight, const char *ref, SrcLoc ref_loc,
                  AstValue *index);
AstTerm *ast_term_fixed(AstTerm *t, SrcLoc loc);
AstTerm *ast_term_negate(AstTerm *t);
AstTerm *ast_term_append(AstTerm *list, AstTerm *t);

AstDecl *ast_decl(ParseCtx *p, AstDeclKind kind, SrcLoc loc, const char *name, SrcLoc name_loc,
                  AstValue *size, AstValue *act);
AstDecl *ast_decl_sum(AstDecl *d, AstTerm *sum);
AstDecl *ast_decl_options(AstDecl *d, struct AstSetting *options);
AstDecl *ast_neuron_sum(ParseCtx *p, SrcLoc loc, const char *name, AstValue *index);

AstSetting *ast_setting(ParseCtx *p, SrcLoc loc, const char *key, AstValue *values);
AstSetting *ast_setting_append(AstSetting *list, AstSetting *s);

AstNetwork *ast_network(ParseCtx *p, SrcLoc loc, const char *name);
AstNetwork *ast_network_add_decl(AstNetwork *n, AstDecl *d);
AstNetwork *ast_network_add_train(ParseCtx *p, AstNetwork *n, SrcLoc loc, AstSetting *settings);
void ast_file_add_network(ParseCtx *p, AstNetwork *n);

/* Parses src into an AST in arena; errors go to diag. Returns NULL only on a parse too
 * broken to yield anything. */
AstFile *ast_parse(const Source *src, Arena *arena, Diag *diag);

/* Deterministic text dump of the tree (`nnc --emit-ast`). */
void ast_dump(const AstFile *f, FILE *out);
const char *ast_decl_kind_name(AstDeclKind k);

#endif
