/* refinterp.h — a reference interpreter of the network IR, in double, for the back-end tests.
 * Consumes: a checked IrNetwork (compiler/ir.h). Produces: outputs, loss and ∂L/∂params of
 * any parameter vector, computed neuron by neuron over explicit edge lists with libm's
 * exp/log/tanh. It shares nothing with codegen.c but the ABI (parameter and column layout),
 * so the generated code can be checked against it. Not thread-safe: one RefNet per thread. */
#ifndef NNC_TEST_REFINTERP_H
#define NNC_TEST_REFINTERP_H

#include <stdint.h>

#include "ir.h"

typedef struct RefNet RefNet;

RefNet *ref_build(const IrNetwork *n);
void ref_free(RefNet *r);

int64_t ref_n_params(const RefNet *r);
int ref_n_inputs(const RefNet *r);
int ref_n_outputs(const RefNet *r);

/* The loss of the network (NNC_LOSS_SQUARED or NNC_LOSS_CROSS_ENTROPY). */
int ref_loss_kind(const RefNet *r);

/* y[n][n_outputs] = network(x[n][n_inputs]) for the parameters p. */
void ref_forward(RefNet *r, const double *p, int64_t n, const double *x, double *y);

/* The loss summed over n samples; when grad is not NULL, adds ∂L/∂p into it. */
double ref_loss_grad(RefNet *r, const double *p, int64_t n, const double *x, const double *t, double *grad);

/* How close one sample comes to a kink: the smallest |z| / (Σ|w·o| + |bias|) over every relu,
 * leaky_relu and step neuron (1 if the network has none). A sample below a margin may be
 * computed on different sides of the kink by f32 and double; the harness rejects it. */
double ref_kink_margin(RefNet *r, const double *p, const double *x);

/* The literal value of parameter i if it has one (WEIGHT_INITIAL), else NaN. */
double ref_initial_value(const RefNet *r, int64_t i);

/* 1 if output column k belongs to a softmax group, and the first column of that group. */
int ref_softmax_group_of(const RefNet *r, int k, int *first, int *size);

#endif
