/* test/runtime/toy_model.h — the hand-written test networks (toy_model.c). */
#ifndef TOY_MODEL_H
#define TOY_MODEL_H

#include "nnc/model.h"

typedef struct toy_hook_state {
  int nan_after;          /* train_step returns NaN on this call (counting down) */
  int nan_every;          /* train_step returns NaN on every this-many-th call */
  int nan_calls;          /* calls counted for nan_every */
  int nan_weight_after;   /* train_step makes the last parameter NaN on this call, loss finite */
  int interrupt_after;    /* train_step raises SIGINT on this call */
  int bad_grad;           /* 1 + index of a gradient entry loss_grad scales by 1.5 */
} toy_hook_state;

extern toy_hook_state toy_hooks;
extern const nnc_model toy_model_f64, toy_model_f32;

#endif
