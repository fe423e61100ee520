/* sema.h — state shared by the checking passes sema.c (network) and settings.c (train block). */
#ifndef NNC_SEMA_H
#define NNC_SEMA_H

#include <stddef.h>
#include <stdint.h>

#include "ast.h"
#include "ir.h"

/* Which edge sets each group already has, by source: an open-addressing table from
 * (group, source, key) to the set's position in the group's in[]; see sema.c. */
typedef struct EdgeSlot {
  int dst, src, pos; /* pos -1: an empty slot */
  int64_t key;       /* the source neuron, or EDGE_KEY_DENSE / EDGE_KEY_ANY */
} EdgeSlot;

typedef struct Sema {
  Arena *arena;
  Diag *diag;
  IrNetwork *net;
  int *names;               /* open-addressing table of group ids, -1 empty */
  size_t name_cap;
  const AstDecl **decl_of;  /* group id -> its declaration (NULL for implicit biases) */
  const AstTerm **bias_term;/* group id -> the term giving its bias, if any */
  int *bias_src;            /* group id -> declared bias neuron feeding it, or -1 */
  int *in_cap;              /* group id -> capacity of its edge array */
  EdgeSlot *edge_slots;     /* the edge sets written in sums, for duplicate checks in O(1) */
  size_t edge_cap, edge_count;
  SrcLoc data_loc, test_loc;/* the train block's 'data' and 'test' settings, for later checks */
  SrcLoc dampening_loc;     /* where a nonzero `dampening` was written (line 0: nowhere) */
  SrcLoc nesterov_loc;      /* where `nesterov on` was written (line 0: nowhere) */
  const AstDecl **neuron_sums; /* the `NAME[i] <- sum` statements, grouped by target group: */
  int *neuron_sums_first;   /* group id -> its statements neuron_sums[first[id] .. first[id + 1]) */
  unsigned char *named_whole; /* group id -> named whole in the neuron sums being resolved */
  int64_t merged_edges;     /* edges of the sets gathered from neuron sums so far, network-wide;
                               -1 once past the bound (reported) */
} Sema;

int sema_lookup(Sema *s, const char *name);
/* The candidate within a small edit distance of word, or NULL. */
const char *sema_closest(const char *word, const char *const *cands, int n);
/* Reports at loc, as "weight 3.5e+38 is out of range for f32 ...", a literal value that is not
 * a finite real of the network's precision; returns 0 then. */
int sema_check_real(Sema *s, SrcLoc loc, const char *what, double v);
/* Checks the train block and fills s->net->train (every default set when absent). */
void settings_check(Sema *s, const AstNetwork *ast);
/* Checks a group's `init` and `bias_init` options into g->init and g->bias_init. */
void settings_check_group_options(Sema *s, IrGroup *g, const AstSetting *options);

#endif
